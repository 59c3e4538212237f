// POST /v1/photos: a card photo (制卡照片) as raw JPEG bytes, checked from the bytes themselves.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { photos } from '../db/schema.js'
import { principalOf } from '../plugins/auth.js'
import { AUTHENTICATED, bearerSecurity, errorResponses, UuidSchema } from '../shared/schemas.js'
import { acceptCardPhoto } from './check.js'

export const PHOTO_BODY_LIMIT = 1024 * 1024

const PhotoSchema = Type.Object({
  photoId: { ...UuidSchema, description: 'Use as photo.photoId when applying' },
  width: Type.Integer({ description: 'Width in pixels (always 358)' }),
  height: Type.Integer({ description: 'Height in pixels (always 441)' }),
  bytes: Type.Integer({ description: 'Size in bytes' })
}, { additionalProperties: false })

// Encapsulated (no fastify-plugin): only this route accepts image bytes.
const photoRoutes: FastifyPluginAsyncTypebox = async function photoRoutes (app) {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('image/jpeg', { parseAs: 'buffer', bodyLimit: PHOTO_BODY_LIMIT }, (_request, body, done) => done(null, body))

  app.post('/v1/photos', {
    onRequest: app.authorize(['citizen', 'station_staff']),
    bodyLimit: PHOTO_BODY_LIMIT,
    schema: {
      tags: ['applications'],
      operationId: 'uploadPhoto',
      summary: 'Upload a card photo',
      description: 'Raw `image/jpeg` bytes (at most 1 MiB). The bytes must be a JPEG of exactly 358×441 pixels and at most ' +
        'PHOTO_MAX_BYTES (default 61,440); otherwise 422 PHOTO_REQUIREMENTS_NOT_MET with `requirement` FORMAT, DIMENSIONS or SIZE. ' +
        'The declared content type is not trusted. Only the uploader can use the photo.',
      security: bearerSecurity,
      consumes: ['image/jpeg'],
      body: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', contentMediaType: 'image/jpeg', description: 'The JPEG file' }),
      response: {
        201: { ...PhotoSchema, description: 'The stored photo' },
        ...errorResponses(...AUTHENTICATED, 400, 413, 415, 422)
      }
    },
    // The body is bytes; JSON-schema validation does not apply to it.
    validatorCompiler: () => () => true
  }, async (request, reply) => {
    const principal = principalOf(request)
    const bytes = request.body
    const check = acceptCardPhoto(bytes, app.config.photoMaxBytes)
    const [row] = await app.db.insert(photos).values({
      jpeg: Buffer.from(bytes), width: check.width, height: check.height, bytes: check.bytes,
      uploadedBy: `${principal.role}:${principal.subject}`, createdAt: app.clock.now()
    }).returning({ id: photos.id })
    return reply.code(201).send({ photoId: row!.id, width: check.width, height: check.height, bytes: check.bytes })
  })
}

export default photoRoutes
