// `npm run pay -- <code>`: sends a correctly signed payment notification to a running service, as the platform would.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { signPayload } from '../payments/signature.js'

const USAGE = `usage: npm run pay -- <payment code> [--amount FEN] [--paid-at RFC3339] [--url http://127.0.0.1:3000]
  Looks the code up for its amount (unless --amount is given) and posts a signed notification.
`
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { amount: { type: 'string' }, 'paid-at': { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
})
const [code] = positionals
if (values.help === true || code === undefined) {
  process.stdout.write(USAGE)
  process.exit(code === undefined && values.help !== true ? 2 : 0)
}

const config = loadConfig()
const base = values.url ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`
let amountFen = values.amount === undefined ? undefined : Number(values.amount)
if (amountFen === undefined) {
  const lookup = await fetch(`${base}/v1/payments/${code}`)
  if (!lookup.ok) {
    process.stderr.write(`looking up ${code} failed: ${lookup.status} ${await lookup.text()}\n`)
    process.exit(1)
  }
  amountFen = ((await lookup.json()) as { amountFen: number }).amountFen
}
const body = JSON.stringify({
  notificationId: `local-${randomUUID()}`,
  paymentCode: code,
  amountFen,
  paidAt: values['paid-at'] ?? new Date().toISOString(),
  platformTransactionId: `local-txn-${randomUUID()}`
})
const response = await fetch(`${base}/v1/payment-notifications`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-payment-signature': signPayload(config.paymentWebhookSecret, Math.floor(Date.now() / 1000), body) },
  body
})
process.stdout.write(`${response.status} ${await response.text()}\n`)
process.exit(response.ok ? 0 : 1)
