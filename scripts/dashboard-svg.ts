/** `npm run docs:dashboard`: draws docs/dashboard.svg, the README's picture of the dashboard */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePicture } from '../infra/dashboard-picture';

const root = join(__dirname, '..');
const file = join(root, 'docs', 'dashboard.svg');
writeFileSync(file, examplePicture(root));
process.stdout.write(`wrote ${file}\n`);
