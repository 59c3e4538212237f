// `npm run openapi` writes openapi/openapi.json from the code; `--check` fails when the committed file differs.
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'

const target = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))

/** The document as the code generates it (the same whatever the configuration). */
export async function generateOpenApi (): Promise<string> {
  const config = loadConfig({}, { DATA_DIR: 'memory://', SEED_SAMPLE_DATA: false, MIGRATE_ON_START: false, LOG_LEVEL: 'silent' })
  const app = await buildApp(config, { logger: false })
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const generated = await generateOpenApi()
  if (process.argv.includes('--check')) {
    const committed = await readFile(target, 'utf8').catch(() => '')
    if (committed !== generated) {
      process.stderr.write('openapi/openapi.json is out of date: run `npm run openapi` and commit the result\n')
      process.exit(1)
    }
    process.stdout.write('openapi/openapi.json matches the code\n')
  } else {
    await mkdir(fileURLToPath(new URL('../../openapi', import.meta.url)), { recursive: true })
    await writeFile(target, generated)
    process.stdout.write(`wrote ${target}\n`)
  }
}
