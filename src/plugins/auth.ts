// JWT authentication and role checks: every protected route states the roles it admits.
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Compile } from 'typebox/compile'
import { ClaimsSchema, toPrincipal, type Claims, type Principal, type Role } from '../auth/principal.js'
import type { AppConfig } from '../config.js'
import { systemClock, type Clock } from '../shared/clock.js'
import { ProblemError } from '../shared/problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** An onRequest hook admitting a valid token of one of these roles: 401 otherwise, 403 for another role. */
    authorize(roles: readonly Role[]): onRequestHookHandler
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

const claimsValidator = Compile(ClaimsSchema)

const unauthorized = (code: string, detail: string) =>
  new ProblemError(401, code, 'Unauthorized', { detail, headers: { 'www-authenticate': 'Bearer realm="yufu-card-service"' } })

function tokenProblem (error: { code?: string }): ProblemError {
  switch (error.code) {
    case 'FST_JWT_NO_AUTHORIZATION_IN_HEADER':
      return unauthorized('TOKEN_MISSING', 'An Authorization: Bearer token is required')
    case 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED':
      return unauthorized('TOKEN_EXPIRED', 'The token has expired')
    default:
      return unauthorized('TOKEN_INVALID', 'The token is not valid for this service')
  }
}

export default fp(async function auth (app: FastifyInstance, opts: { jwt: AppConfig['jwt']; clock: Clock }) {
  const { jwt, clock } = opts
  const key = jwt.key
  const algorithm = key.kind === 'secret' ? 'HS256' : key.algorithm
  await app.register(fastifyJwt, {
    secret: key.kind === 'secret' ? key.secret : { public: key.publicKey },
    verify: {
      algorithms: [algorithm],
      allowedIss: jwt.issuer,
      allowedAud: jwt.audience,
      requiredClaims: ['exp', 'iss', 'aud', 'sub'],
      clockTolerance: 30
    }
  })

  app.decorateRequest('principal', null)

  // Tests move an injected clock; production verifies against real time with the cached verifier.
  const verifyOptions = () => clock === systemClock ? undefined : { clockTimestamp: clock.now().getTime() }

  async function authenticate (request: FastifyRequest): Promise<Principal> {
    let claims: unknown
    try {
      claims = await request.jwtVerify(verifyOptions())
    } catch (error) {
      throw tokenProblem(error as { code?: string })
    }
    if (!claimsValidator.Check(claims)) throw unauthorized('TOKEN_INVALID', 'The token\'s claims are not valid for this service')
    return toPrincipal(claims as Claims)
  }

  app.decorate('authorize', function authorize (roles: readonly Role[]): onRequestHookHandler {
    return async function checkRole (request) {
      const principal = await authenticate(request)
      if (!roles.includes(principal.role)) {
        throw new ProblemError(403, 'FORBIDDEN_ROLE', 'Forbidden', { detail: `This operation is not available to the ${principal.role} role` })
      }
      request.principal = principal
    }
  })
}, { name: 'auth', dependencies: ['errors'] })

/** The principal of an authorized request; routes behind `authorize` always have one. */
export function principalOf (request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('route is missing app.authorize')
  return request.principal
}
