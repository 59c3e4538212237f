// The command-line tools: `npm run token` mints tokens the service accepts; `npm run migrate` migrates.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { isMigrated } from '../../src/db/migrate.js'
import { SAMPLE_HOLDERS } from '../../src/db/sample-data.js'
import { buildTestApp } from '../helper.js'

const run = promisify(execFile)
const tsx = (script: string, args: string[], env: Record<string, string> = {}) =>
  // The test runner's own TypeScript loader (execArgv), so the scripts' coverage maps onto the same sources.
  run(process.execPath, [...process.execArgv, `src/scripts/${script}`, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' })

t.test('npm run token', async (t) => {
  const { app } = await buildTestApp(t)
  const stations = (token: string) => app.inject({ method: 'GET', url: '/v1/stations', headers: { authorization: `Bearer ${token.trim()}` } })

  const bureau = await tsx('token.ts', ['bureau_staff'])
  t.equal((await stations(bureau.stdout)).statusCode, 200, 'a bureau token')
  const citizen = await tsx('token.ts', ['citizen', '--id-number', '11010519491231002X', '--name', '张三'])
  t.equal((await stations(citizen.stdout)).statusCode, 200, 'a citizen token')

  const all = await tsx('token.ts', [])
  const tokens = all.stdout.split('\n').filter((line) => line.startsWith('ey'))
  t.equal(tokens.length, SAMPLE_HOLDERS.length + 3, 'one per sample holder, plus station staff, bureau and admin')
  for (const token of tokens) t.equal((await stations(token)).statusCode, 200)
  t.notOk(SAMPLE_HOLDERS.some((h) => all.stdout.includes(h.identity.idNumber)), 'the listing does not print ID numbers')

  await t.rejects(tsx('token.ts', ['citizen']), { code: 2 }, 'missing arguments exit 2')
  await t.rejects(tsx('token.ts', ['root']), { code: 2 })
})

t.test('npm run migrate on an empty embedded database', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yufu-migrate-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const out = await tsx('migrate.ts', [], { DATA_DIR: dir })
  t.match(out.stdout, /migrations applied \(embedded database\)/)
  const database = await openDatabase({ kind: 'embedded', dataDir: dir })
  t.teardown(() => database.close())
  t.equal(await isMigrated(database), true)
})

t.test('a bad configuration stops the server with a message naming the variable', async (t) => {
  const failed = await tsx('../server.ts', [], { PORT: 'eighty' }).catch((error: { code: number; stderr: string }) => error)
  t.match(failed, { code: 78, stderr: /PORT/ })
})
