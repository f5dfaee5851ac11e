/**
 * The README's picture of the dashboard: the layout of the dashboard the stack really builds,
 * drawn as SVG from its synthesized body (every widget at its grid position and size, its
 * title, and what it reads: metrics, metric math, Logs Insights fields, alarms). Written by
 * `npm run docs:dashboard` to docs/dashboard.svg; a test fails when the committed picture
 * drifts from the synthesized dashboard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseConfig, type ConfigInput } from '../functions/shared/domain/config';
import { addCaretakerStacks } from './caretaker-app';

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    query?: string;
    alarms?: unknown[];
  };
}

/**
 * The picture's deployment: caretaker.config.example.json with patching on for its first
 * cluster, so that every widget a cluster can have is in it.
 */
export function pictureConfig(root: string): ConfigInput {
  const example = JSON.parse(
    readFileSync(join(root, 'caretaker.config.example.json'), 'utf8'),
  ) as ConfigInput;
  return {
    ...example,
    clusters: example.clusters.map((c, i) => (i === 0 ? { ...c, patching: {} } : c)),
  };
}

/** the dashboard body of the first stack of `config`, synthesized without bundling; tokens read "…" */
export function synthesizedDashboard(config: ConfigInput): { name: string; widgets: Widget[] } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const [stack] = addCaretakerStacks(app, parseConfig(config));
  if (!stack) throw new Error('the configuration has no cluster: no stack, no dashboard');
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: { DashboardBody: unknown } }>;
  };
  const dash = Object.values(template.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (!dash) throw new Error(`stack ${stack.stackName} has no dashboard`);
  const body = dash.Properties.DashboardBody;
  const parts = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']?.[1] ?? [body];
  const json = parts.map((p) => (typeof p === 'string' ? p : '…')).join('');
  return { name: stack.stackName, widgets: (JSON.parse(json) as { widgets: Widget[] }).widgets };
}

const COL = 40;
const ROW = 26;
const PAD = 16;
const LINE = 13;
const CHAR = 6.1;
const FILL: Record<string, string> = { metric: '#eaf2fd', log: '#eaf7e6', alarm: '#fdf1e2', text: '#f2f2f2' };
const KIND: Record<string, string> = {
  metric: 'graph',
  log: 'Logs Insights table',
  alarm: 'alarm status',
  text: 'text',
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fit(s: string, px: number, charPx = CHAR): string {
  const max = Math.max(4, Math.floor(px / charPx));
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** what a widget reads, one line each */
function contents(w: Widget): string[] {
  const p = w.properties;
  if (w.type === 'text') return [];
  if (w.type === 'alarm') return [`${p.alarms?.length ?? 0} alarms: state of each`];
  if (w.type === 'log') {
    const sources = (p.query ?? '').match(/SOURCE '[^']*'/g)?.length ?? 0;
    const query = (p.query ?? '').replace(/SOURCE '[^']*' \| /g, '');
    return [
      `from ${sources} log group${sources === 1 ? '' : 's'}:`,
      ...query.split('\n').map((l) => l.replace(/^\|\s*/, '')),
    ];
  }
  const out: string[] = [];
  for (const m of p.metrics ?? []) {
    const opts = (m.find((x) => typeof x === 'object' && x !== null) ?? {}) as {
      expression?: string;
      label?: string;
      visible?: boolean;
    };
    if (opts.visible === false) continue;
    if (opts.expression) {
      out.push(`${opts.label ?? ''} = ${opts.expression}`.trim());
      continue;
    }
    const strings = m.filter((x): x is string => typeof x === 'string');
    // Caretaker's own metrics by name; others (AWS/States) with their namespace
    const name = strings[0] === 'Caretaker' ? strings[1]! : `${strings[0]}/${strings[1]}`;
    out.push(`${name}${opts.label ? ` (${opts.label})` : ''}`);
  }
  return out;
}

/** the SVG of a dashboard body: deterministic, so a drift test can compare it */
export function dashboardSvg(dashboard: { name: string; widgets: Widget[] }, caption: string): string {
  const width = 24 * COL + 2 * PAD;
  const rows = Math.max(0, ...dashboard.widgets.map((w) => w.y + w.height));
  const top = PAD + 28;
  const height = top + rows * ROW + PAD + 18;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PAD}" y="${PAD + 14}" font-size="16" font-weight="bold">CloudWatch dashboard ${esc(dashboard.name)} (layout)</text>`,
  ];
  for (const w of dashboard.widgets) {
    const x = PAD + w.x * COL + 2;
    const y = top + w.y * ROW + 2;
    const wpx = w.width * COL - 4;
    const hpx = w.height * ROW - 4;
    out.push(
      `<rect x="${x}" y="${y}" width="${wpx}" height="${hpx}" rx="4" fill="${FILL[w.type] ?? '#ffffff'}" stroke="#9aa5b1"/>`,
    );
    if (w.type === 'text') {
      const text = (w.properties.markdown ?? '').replace(/^#+\s*/, '');
      out.push(
        `<text x="${x + 8}" y="${y + hpx / 2 + 5}" font-size="13" font-weight="bold">${esc(fit(text, wpx - 16, 7.8))}</text>`,
      );
      continue;
    }
    out.push(
      `<text x="${x + 8}" y="${y + 16}" font-size="12" font-weight="bold">${esc(fit(w.properties.title ?? '', wpx - 16, 7.2))}</text>`,
      `<text x="${x + 8}" y="${y + 30}" font-size="10" fill="#52606d">${esc(KIND[w.type] ?? w.type)}</text>`,
    );
    const lines = contents(w);
    const room = Math.max(0, Math.floor((hpx - 40) / LINE));
    const shown =
      lines.length > room ? [...lines.slice(0, room - 1), `+${lines.length - room + 1} more`] : lines;
    shown.forEach((l, i) =>
      out.push(
        `<text x="${x + 8}" y="${y + 44 + i * LINE}" font-size="10" font-family="Menlo, monospace">${esc(fit(l, wpx - 16))}</text>`,
      ),
    );
  }
  out.push(
    `<text x="${PAD}" y="${height - PAD + 4}" font-size="10" fill="#52606d">${esc(caption)}</text>`,
    '</svg>',
    '',
  );
  return out.join('\n');
}

export const PICTURE_CAPTION =
  'Drawn from the synthesized stack (caretaker.config.example.json, patching on for prod-eu) by npm run docs:dashboard; test/infra/dashboard-picture.test.ts fails when it drifts.';

/** the picture of the example deployment's dashboard */
export function examplePicture(root: string): string {
  return dashboardSvg(synthesizedDashboard(pictureConfig(root)), PICTURE_CAPTION);
}
