// JPEG inspection reads the frame size from the bytes, whatever the file claims to be.
import t from 'tap'
import { checkCardPhoto, inspectJpeg } from '../../src/domain/jpeg.js'

const segment = (marker: number, payload: number[]) => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]
const frame = (marker: number, width: number, height: number) =>
  segment(marker, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
const jpeg = (...parts: number[][]) => Uint8Array.from([0xff, 0xd8, ...parts.flat(), 0xff, 0xd9])

t.test('reads baseline and progressive frames after other segments', async (t) => {
  const app0 = segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0])
  const dht = segment(0xc4, [0, 1, 2])
  t.same(inspectJpeg(jpeg(app0, frame(0xc0, 358, 441))), { width: 358, height: 441 })
  t.same(inspectJpeg(jpeg(app0, dht, frame(0xc2, 100, 50))), { width: 100, height: 50 }, 'DHT (C4) is not a frame')
  t.same(inspectJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xff, ...frame(0xc0, 2, 3)])), { width: 2, height: 3 }, 'fill bytes are skipped')
})

t.test('refuses what is not a readable JPEG', async (t) => {
  t.equal(inspectJpeg(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])), null, 'PNG')
  t.equal(inspectJpeg(Uint8Array.from([0xff, 0xd8])), null, 'too short')
  t.equal(inspectJpeg(jpeg()), null, 'no frame before the end')
  t.equal(inspectJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), null, 'scan before any frame')
  t.equal(inspectJpeg(Uint8Array.from([0xff, 0xd8, 0x00, 0x00, 0, 0])), null, 'garbage instead of a marker')
  t.equal(inspectJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0])), null, 'segment length below 2')
  t.equal(inspectJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 1])), null, 'truncated frame header')
  t.equal(inspectJpeg(jpeg(frame(0xc0, 0, 441))), null, 'zero width')
})

t.test('card photo requirements: format, then dimensions, then size', async (t) => {
  const ok = jpeg(frame(0xc0, 358, 441))
  t.match(checkCardPhoto(ok, 61_440), { ok: true, width: 358, height: 441, bytes: ok.length })
  t.match(checkCardPhoto(Uint8Array.from([1, 2, 3]), 61_440), { ok: false, requirement: 'FORMAT' })
  t.match(checkCardPhoto(jpeg(frame(0xc0, 441, 358)), 61_440), { ok: false, requirement: 'DIMENSIONS', detail: /358×441.*441×358/ })
  t.match(checkCardPhoto(ok, ok.length - 1), { ok: false, requirement: 'SIZE' })
})
