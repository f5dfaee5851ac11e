import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  dashboardSvg,
  examplePicture,
  pictureConfig,
  synthesizedDashboard,
} from '../../infra/dashboard-picture';
import { ROOT } from './build';

describe('the README picture of the dashboard (docs/dashboard.svg)', () => {
  const dashboard = synthesizedDashboard(pictureConfig(ROOT));

  it('is the picture of the dashboard the stack synthesizes now (npm run docs:dashboard redraws it)', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'dashboard.svg'), 'utf8');
    expect(committed).toBe(examplePicture(ROOT));
  });

  it('draws every widget of the dashboard, by its title', () => {
    const svg = dashboardSvg(dashboard, '');
    const titled = dashboard.widgets.filter((w) => w.properties.title);
    expect(titled.length).toBeGreaterThan(10);
    for (const w of titled) {
      const shown = w.properties.title!.slice(0, 20).replace(/&/g, '&amp;');
      expect(svg).toContain(shown);
    }
    expect(svg.match(/<rect /g)).toHaveLength(dashboard.widgets.length + 1);
  });

  it('shows what the issue lists for each cluster: snapshot age and size, verification and RTO, DB size, members, NotReady, days since patched', () => {
    const titles = dashboard.widgets.map((w) => w.properties.title ?? '').join('\n');
    for (const what of [
      'prod-eu: snapshot age',
      'prod-eu: snapshot size, last verification and its RTO',
      'prod-eu: etcd DB size, % of quota',
      'prod-eu: etcd members unhealthy',
      'prod-eu: not ready',
      'prod-eu: days since each worker was patched',
      'operations running per workflow',
      'failures per workflow',
      'Caretaker alarms',
    ])
      expect(titles).toContain(what);
  });
});
