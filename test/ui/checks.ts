/**
 * Checks of what a page shows, for the browser tests: nothing wider than the screen, every control
 * with an accessible name (as Chromium computes it), a visible focus indicator on whatever the Tab
 * key reaches, and text contrast (WCAG 2: 4.5:1, 3:1 for large text) against what is behind it.
 * Each returns the problems it found, as short lines; empty when all is well.
 */
import type { Page } from 'playwright-core';

// The in-page parts are plain JavaScript text: functions passed to page.evaluate would carry the
// helpers the TypeScript loader adds to named functions, which the page does not have.

/** The focused element (inside shadow roots too) and whether it, or a near ancestor, shows a focus indicator. */
const FOCUS_SCRIPT = `(() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).slice(0, 2).join('.') : '';
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + ' "' + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 30) + '"';
  const shows = (e) => {
    const s = getComputedStyle(e);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow !== 'none' && s.boxShadow !== '');
  };
  let shown = false;
  let e = el;
  for (let up = 0; e && up < 4 && !shown; up++) {
    shown = shows(e);
    e = e.parentElement || (e.getRootNode().host || null);
  }
  return { name, shown };
})()`;

/** Text elements whose colour is too close to what is behind them, as short lines. */
const CONTRAST_SCRIPT = `(() => {
  const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  // Any CSS colour (rgb(), color(srgb …), color-mix() results) through the canvas, which resolves it.
  const parse = (c) => {
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = '#000';
    probe.fillStyle = c;
    probe.fillRect(0, 0, 1, 1);
    const d = probe.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = (i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const lum = (c) => {
    const ch = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4); };
    return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]);
  };
  const parentOf = (e) => e.parentElement || (e.getRootNode().host || null);
  const backdrop = (e) => {
    const layers = [];
    for (let x = e; x; x = parentOf(x)) {
      const bg = parse(getComputedStyle(x).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let out = over(parse(getComputedStyle(document.documentElement).backgroundColor), [255, 255, 255, 1]);
    for (let i = layers.length - 1; i >= 0; i--) out = over(layers[i], out);
    return out;
  };
  const opacity = (e) => {
    let o = 1;
    for (let x = e; x; x = parentOf(x)) o *= parseFloat(getComputedStyle(x).opacity);
    return o;
  };
  const problems = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) visit(el.shadowRoot);
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent || '').join('').trim();
      if (!text || el.closest('[aria-hidden="true"], [inert], option, .sr-only, script, style')) continue;
      if (el.disabled || el.closest(':disabled')) continue; // inactive controls are exempt
      const rects = el.getClientRects();
      if (!rects.length || rects[0].width === 0) continue;
      const s = getComputedStyle(el);
      if (s.visibility === 'hidden') continue;
      const bg = backdrop(el);
      const c = parse(s.color);
      const fg = over([c[0], c[1], c[2], c[3] * opacity(el)], bg);
      const l = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (l[0] + 0.05) / (l[1] + 0.05);
      const size = parseFloat(s.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
      const need = large ? 3 : 4.5;
      if (ratio < need) problems.push('"' + text.slice(0, 40) + '" (' + el.tagName.toLowerCase() + '.' + String(el.className).split(' ')[0] + ') ' + ratio.toFixed(2) + ':1 < ' + need + ':1');
    }
  };
  visit(document);
  return problems;
})()`;

/** How much wider than the window the page is (0 when it fits). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

const CONTROL_ROLES = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'switch', 'tab', 'spinbutton', 'slider', 'menuitem', 'option']);

/** Controls (buttons, links, fields, tabs…) that have no accessible name. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)) && !String(n.name?.value ?? '').trim())
      .map((n) => `${n.role?.value} without a name (${(n.properties ?? []).map((p) => `${p.name}=${JSON.stringify(p.value.value)}`).join(' ') || 'no properties'})`);
  } finally {
    await cdp.detach();
  }
}

/**
 * Presses Tab up to `max` times from the top of the page; each element that takes focus must show
 * it: an outline or a box shadow on itself or a near ancestor (an editor outlines its frame).
 */
export async function focusWithoutIndicator(page: Page, max = 40): Promise<string[]> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  const seen = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    // An editor marks its focus a moment after it takes it: look two frames later.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const r = (await page.evaluate(FOCUS_SCRIPT)) as { name: string; shown: boolean } | null;
    if (!r) continue;
    if (seen.has(r.name)) break; // back at the start: every stop was visited
    seen.add(r.name);
    if (!r.shown) problems.push(`focus not visible on ${r.name}`);
  }
  return problems;
}

/** Visible text whose colour is too close to its background (shadow roots included, e.g. the editor). */
export async function lowContrastText(page: Page): Promise<string[]> {
  return (await page.evaluate(CONTRAST_SCRIPT)) as string[];
}
