/** `npm run docs`: rewrites the generated workflows section of docs/contracts.md */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withWorkflowContracts } from '../functions/shared/workflows/contracts-md';

const file = join(__dirname, '..', 'docs', 'contracts.md');
writeFileSync(file, withWorkflowContracts(readFileSync(file, 'utf8')));
process.stdout.write(`wrote ${file}\n`);
