'use strict';
// A dependency-free SVG line chart with logarithmic axes, for latency versus
// frame size. Input: { title, xLabel, yLabel, series: [{ name, points: [[x, y], ...] }] }.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const W = 760;
const H = 460;
const M = { left: 72, right: 190, top: 40, bottom: 56 };

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decades(min, max) {
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function bytesLabel(x) {
  if (x >= 2 ** 30) return `${+(x / 2 ** 30).toPrecision(3)} GiB`;
  if (x >= 2 ** 20) return `${+(x / 2 ** 20).toPrecision(3)} MiB`;
  if (x >= 2 ** 10) return `${+(x / 2 ** 10).toPrecision(3)} KiB`;
  return `${x} B`;
}

function msLabel(y) {
  if (y >= 1000) return `${y / 1000} s`;
  if (y >= 1) return `${y} ms`;
  return `${+(y * 1000).toPrecision(3)} µs`;
}

/** Renders the chart; series points with a non-positive or missing value are skipped. */
function renderChart(chart) {
  const series = chart.series
    .map((s) => ({ name: s.name, points: s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y)) }))
    .filter((s) => s.points.length > 0);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  if (xs.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="80"><text x="10" y="40">no data</text></svg>\n`;
  }
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) > xMin ? Math.max(...xs) : xMin * 10;
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1] > yMin ? yTicks[yTicks.length - 1] : yMin * 10;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (x) => M.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * pw;
  const py = (y) => M.top + ph - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (const y of yTicks) {
    parts.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${escapeXml(msLabel(y))}</text>`,
    );
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const x of xTicks) {
    parts.push(
      `<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${px(x).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${escapeXml(bytesLabel(x))}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.sort((a, b) => a[0] - b[0]).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`);
    }
    const ly = M.top + 14 + i * 20;
    parts.push(
      `<line x1="${M.left + pw + 14}" x2="${M.left + pw + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${M.left + pw + 40}" y="${ly}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

module.exports = { renderChart };
