// The card photo requirements as an HTTP answer: 422 naming the requirement that failed.
import { checkCardPhoto } from '../domain/jpeg.js'
import { ProblemError } from '../shared/problem.js'

export function acceptCardPhoto (bytes: Uint8Array, maxBytes: number): { width: number; height: number; bytes: number } {
  const check = checkCardPhoto(bytes, maxBytes)
  if (!check.ok) {
    throw new ProblemError(422, 'PHOTO_REQUIREMENTS_NOT_MET', 'Photo does not meet the requirements', {
      detail: check.detail, extensions: { requirement: check.requirement }
    })
  }
  return check
}
