// Builds the module package.json names as "main" into a Bottega plugin
// component (./build.sh runs it after `npm ci`, giving the output path).
import { componentize } from '@bytecodealliance/componentize-js';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2]);
const main = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).main;

const { component } = await componentize({
  sourcePath: join(here, main),
  // ./wit when this folder stands alone, else the repository's contract.
  witPath: existsSync(join(here, 'wit')) ? join(here, 'wit') : join(here, '..', '..', 'wit'),
  worldName: 'shop',
  // Bottega gives plugins no network: leave out the engine's wasi:http and fetch-event.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`built ${out} (${component.length} bytes)`);
