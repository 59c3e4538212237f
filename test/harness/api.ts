// Seeding through the API (stations, holders) and measuring a service's CLOCK_START clock against ours.
import { jpegBytes, residentIdentity } from './identity.js'
import type { Answer, HttpClient } from './http.js'
import type { Service } from './services.js'

export interface SeededHolder {
  seq: number
  id: string
  identity: ReturnType<typeof residentIdentity>
}

const PHOTO = jpegBytes().toString('base64')
const NAMES = ['张三丰', '李四光', '王五', '陈军', '杨明', '赵六', '刘洋', '黄海', '周杰', '吴刚']

function expect (answer: Answer, status: number, what: string): void {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status === 0 ? answer.error : answer.status} ${JSON.stringify(answer.body)}`)
}

export async function createStation (http: HttpClient, service: Service, bureau: string, seq: number): Promise<{ id: string; createdAt: string; answer: Answer }> {
  const answer = await http.call(service, 'POST', '/v1/stations', {
    token: bureau,
    body: {
      name: `测试服务站${seq}（脚本）`, districtCode: '440106', address: `天河路${seq}号`, phone: '020-83000000',
      latitude: 23.12 + seq / 1000, longitude: 113.36 + seq / 1000
    }
  })
  expect(answer, 201, 'create a station')
  return { id: answer.body.id as string, createdAt: answer.body.createdAt as string, answer }
}

export async function registerHolder (http: HttpClient, service: Service, bureau: string, seq: number): Promise<SeededHolder> {
  const identity = residentIdentity(seq, NAMES[seq % NAMES.length])
  const answer = await http.call(service, 'POST', '/v1/holders', {
    token: bureau,
    body: {
      identity,
      phone: `139${String(seq).padStart(8, '0')}`,
      card: { cardNumber: `A${String(seq).padStart(8, '0')}`, issuedAt: '2020-01-01', photoJpegBase64: PHOTO }
    }
  })
  expect(answer, 201, `register holder ${seq}`)
  return { seq, id: answer.body.id as string, identity }
}

/** Registers holders `from`…`from+count-1`, a few at a time, spread over the services. */
export async function registerHolders (http: HttpClient, services: Service[], bureau: string, from: number, count: number, parallel = 6): Promise<SeededHolder[]> {
  const holders: SeededHolder[] = []
  let next = from
  await Promise.all(Array.from({ length: parallel }, async (_, lane) => {
    while (next < from + count) {
      const seq = next++
      holders.push(await registerHolder(http, services[(seq + lane) % services.length]!, bureau, seq))
    }
  }))
  return holders.sort((a, b) => a.seq - b.seq)
}

export interface ClockReading {
  /** The service's clock minus ours, in ms. */
  offsetMs: number
  /** Half the round trip: how far off the reading may be. */
  uncertaintyMs: number
}

/**
 * Reads a service's clock by creating a station (its createdAt is the service's now, to the millisecond):
 * the best of `samples` readings, each bracketed by our clock before and after the request.
 */
export async function readServiceClock (http: HttpClient, service: Service, bureau: string, seqBase: number, samples = 2): Promise<{ reading: ClockReading; stationIds: string[] }> {
  let best: ClockReading | undefined
  const stationIds: string[] = []
  for (let i = 0; i < samples; i++) {
    const before = Date.now()
    const station = await createStation(http, service, bureau, seqBase + i)
    const after = Date.now()
    stationIds.push(station.id)
    const reading = { offsetMs: Date.parse(station.createdAt) - (before + after) / 2, uncertaintyMs: (after - before) / 2 }
    if (best === undefined || reading.uncertaintyMs < best.uncertaintyMs) best = reading
  }
  return { reading: best!, stationIds }
}
