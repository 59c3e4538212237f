// Reads a JPEG's real dimensions from its bytes and checks the card photo requirements (制卡照片).
export const CARD_PHOTO_WIDTH = 358
export const CARD_PHOTO_HEIGHT = 441

export interface JpegInfo { width: number; height: number }

// SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc

/** The frame size of a baseline or progressive JPEG, or null when the bytes are not a JPEG. */
export function inspectJpeg (bytes: Uint8Array): JpegInfo | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null
  let offset = 2
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return null
    const marker = bytes[offset + 1]!
    if (marker === 0xff) { offset += 1; continue } // fill byte
    if (marker === 0xd9 || marker === 0xda) return null // end of image or scan before any frame header
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!
    if (length < 2) return null
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length) return null
      const height = (bytes[offset + 5]! << 8) | bytes[offset + 6]!
      const width = (bytes[offset + 7]! << 8) | bytes[offset + 8]!
      return width > 0 && height > 0 ? { width, height } : null
    }
    offset += 2 + length
  }
  return null
}

export type PhotoCheck =
  | { ok: true; width: number; height: number; bytes: number }
  | { ok: false; requirement: 'FORMAT' | 'DIMENSIONS' | 'SIZE'; detail: string }

export function checkCardPhoto (bytes: Uint8Array, maxBytes: number): PhotoCheck {
  const info = inspectJpeg(bytes)
  if (info === null) return { ok: false, requirement: 'FORMAT', detail: 'The photo must be a JPEG image' }
  if (info.width !== CARD_PHOTO_WIDTH || info.height !== CARD_PHOTO_HEIGHT) {
    return { ok: false, requirement: 'DIMENSIONS', detail: `The photo must be ${CARD_PHOTO_WIDTH}×${CARD_PHOTO_HEIGHT} pixels; it is ${info.width}×${info.height}` }
  }
  if (bytes.length > maxBytes) {
    return { ok: false, requirement: 'SIZE', detail: `The photo must be at most ${maxBytes} bytes; it is ${bytes.length}` }
  }
  return { ok: true, ...info, bytes: bytes.length }
}
