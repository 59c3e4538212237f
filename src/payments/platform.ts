// The boundary to the Guangdong non-tax payment platform (广东省非税收缴平台): one adapter issues payment codes.
import { sql } from 'drizzle-orm'
import { rowsOf, type Executor } from '../db/client.js'
import { issuePaymentCode } from '../domain/payment-code.js'

export interface PaymentPlatform {
  /** Shown to payers: who collects the fee. */
  readonly payee: string
  /** Where to pay, as the timeline names it. */
  readonly platformName: string
  /** A new, never reused payment code for a fee due on `businessDate` (Asia/Shanghai). */
  issueCode(tx: Executor, businessDate: string): Promise<string>
}

/** The default adapter: codes issued locally from a PostgreSQL sequence, as SPEC.md section 6 describes. */
export function createLocalPaymentPlatform (regionCode: string): PaymentPlatform {
  return {
    payee: '广州市退役军人事务局',
    platformName: '广东省非税收缴平台',
    issueCode: (tx, businessDate) => issuePaymentCode(regionCode, businessDate, async () => {
      const [row] = rowsOf<{ value: string }>(await tx.execute(sql`select nextval('payment_code_seq')::text as value`))
      return BigInt(row!.value)
    })
  }
}
