// `npm run token`: mints development tokens with the configured JWT_SECRET (the same as POST /v1/dev/tokens).
import { parseArgs } from 'node:util'
import { createTokenMinter } from '../auth/tokens.js'
import { loadConfig } from '../config.js'
import { SAMPLE_HOLDERS, SAMPLE_STATIONS } from '../db/sample-data.js'
import { sampleStationId } from '../db/seed.js'
import { claimsFor, type DevTokenRequest } from '../dev/claims.js'
import { ID_TYPES, type IdType } from '../domain/identity.js'
import { createPiiCipher } from '../shared/pii.js'
import { systemClock } from '../shared/clock.js'

const USAGE = `usage:
  npm run token                                    tokens for every sample holder, a sample station's staff, bureau and admin
  npm run token -- citizen --id-number N --name NAME [--id-type RESIDENT_ID_CARD] [--country CHN]
  npm run token -- station_staff --station UUID [--subject ID]
  npm run token -- bureau_staff [--subject ID]
  npm run token -- admin [--subject ID]
`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'id-number': { type: 'string' },
    name: { type: 'string' },
    'id-type': { type: 'string', default: 'RESIDENT_ID_CARD' },
    country: { type: 'string', default: 'CHN' },
    station: { type: 'string' },
    subject: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})

const config = loadConfig()
const mint = createTokenMinter(config.jwt, systemClock)
const pii = createPiiCipher(config.pii)
const tokenFor = (request: DevTokenRequest) => mint(claimsFor(request, pii)).token
const subject = values.subject === undefined ? {} : { subject: values.subject }

function fail (message: string): never {
  process.stderr.write(`${message}\n${USAGE}`)
  process.exit(2)
}

const [role] = positionals
if (values.help === true) {
  process.stdout.write(USAGE)
} else if (role === undefined) {
  const lines = ['# Development tokens (valid 12 hours). Use: curl -H "Authorization: Bearer $TOKEN" ...', '']
  for (const holder of SAMPLE_HOLDERS) {
    lines.push(`# citizen ${holder.identity.name} — ${holder.note}`, tokenFor({ role: 'citizen', identity: holder.identity }), '')
  }
  lines.push(`# station_staff of ${SAMPLE_STATIONS[0]!.name} (${sampleStationId(0)})`, tokenFor({ role: 'station_staff', stationId: sampleStationId(0) }), '')
  lines.push('# bureau_staff', tokenFor({ role: 'bureau_staff' }), '', '# admin', tokenFor({ role: 'admin' }))
  process.stdout.write(`${lines.join('\n')}\n`)
} else if (role === 'citizen') {
  if (values['id-number'] === undefined || values.name === undefined) fail('citizen needs --id-number and --name')
  if (!(ID_TYPES as readonly string[]).includes(values['id-type'])) fail(`--id-type must be one of ${ID_TYPES.join(', ')}`)
  process.stdout.write(`${tokenFor({
    role: 'citizen',
    identity: { countryRegion: values.country, idType: values['id-type'] as IdType, idNumber: values['id-number'], name: values.name }
  })}\n`)
} else if (role === 'station_staff') {
  if (values.station === undefined) fail('station_staff needs --station')
  process.stdout.write(`${tokenFor({ role: 'station_staff', stationId: values.station, ...subject })}\n`)
} else if (role === 'bureau_staff' || role === 'admin') {
  process.stdout.write(`${tokenFor({ role, ...subject })}\n`)
} else {
  fail(`unknown role ${role}`)
}
