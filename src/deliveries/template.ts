/**
 * Personalization templates ({{ firstName }}, {% if vip %}...) with liquidjs: interpreted,
 * never compiled to code, prototype reads blocked, loops and memory bounded, HTML output
 * escaped in HTML content. Parse once per delivery; render per recipient.
 *
 * A template never reaches files: `include`, `render` and `layout` (the tags that read
 * other templates from disk) are refused at parse time with an error naming the tag, and
 * the engines' file system answers nothing even if a tag were to ask.
 *
 * Also works out which fields a template *requires*: a field printed without a `default`
 * filter and outside a condition. A recipient without one of those is a personalization
 * error the analysis reports, instead of a message that says "Hello ,".
 */
import { Liquid, Tag, type Template, type TagToken, type TopLevelToken, type Liquid as LiquidEngine } from 'liquidjs';
import { invalidInput } from '../lib/errors.ts';
import { compileFast } from './fast-template.ts';

export type TemplateKind = 'subject' | 'html' | 'text';

/** Tags that read other templates from the file system: never allowed. */
export const FILE_TAGS = ['include', 'render', 'layout'] as const;

/**
 * The longest one render may take, in ms: a render runs on the main thread, which the MTA
 * and the bounce listener share. The analysis budgets whole messages on top of this.
 */
export const RENDER_LIMIT_MS = 50;

/** A file system with nothing in it, so no tag can read the server's files. */
const NO_FILES = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file: string) => { throw new Error(`templates cannot read files (${file})`); },
  readFileSync: (file: string) => { throw new Error(`templates cannot read files (${file})`); },
  resolve: (_root: string, file: string) => file,
  contains: async () => false,
  containsSync: () => false,
  sep: '/',
};

function newEngine(escape: boolean): LiquidEngine {
  const engine = new Liquid({
    ...(escape ? { outputEscape: 'escape' as const } : {}),
    ownPropertyOnly: true, strictFilters: true, parseLimit: 2_000_000, renderLimit: RENDER_LIMIT_MS, memoryLimit: 50_000_000,
    fs: NO_FILES, root: [], partials: [], layouts: [], relativeReference: false, dynamicPartials: false,
  });
  for (const name of FILE_TAGS) {
    engine.registerTag(name, class extends Tag {
      constructor(token: TagToken, remain: TopLevelToken[], liquid: LiquidEngine) {
        super(token, remain, liquid);
        throw new Error(`the {% ${name} %} tag is not allowed: templates cannot read files; put the content in the template itself`);
      }
      *render(): Generator<unknown, void, unknown> {}
    });
  }
  return engine;
}

const engines = { html: newEngine(true), plain: newEngine(false) };

export interface CompiledTemplate {
  kind: TemplateKind;
  source: string;
  /** Field paths (e.g. ["firstName"], ["address", "city"]) a recipient must have. */
  required: string[][];
  /** `limitMs` lowers the time this render may take (RENDER_LIMIT_MS at most). */
  render(data: Record<string, unknown>, limitMs?: number): string;
}

/** Parses a template; a syntax error becomes an INVALID_INPUT error naming the part and the position. */
export function compileTemplate(kind: TemplateKind, source: string): CompiledTemplate {
  const engine = kind === 'html' ? engines.html : engines.plain;
  let parsed: Template[];
  try {
    parsed = engine.parse(source);
  } catch (err) {
    throw invalidInput(`${kind} template has a syntax error: ${(err as Error).message}`);
  }
  const required = requiredFields(engine, parsed, source);
  const fast = compileFast(source, kind === 'html');
  return {
    kind,
    source,
    required,
    render: (data, limitMs) => {
      if (fast) {
        // A value the fast path cannot print: liquidjs says so in its own words (RenderError).
        try {
          return fast.render(data);
        } catch {
          /* falls through to liquidjs */
        }
      }
      return engine.renderSync(parsed, data, limitMs === undefined ? undefined : { renderLimit: Math.min(limitMs, RENDER_LIMIT_MS) }) as string;
    },
  };
}

/** The required field paths missing from one recipient's data. */
export function missingFields(template: CompiledTemplate, data: Record<string, unknown>): string[] {
  const missing: string[] = [];
  for (const path of template.required) {
    let node: unknown = data;
    for (const key of path) {
      node = node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, key) ? (node as Record<string, unknown>)[key] : undefined;
      if (node === undefined) break;
    }
    if (node === undefined || node === null || node === '') missing.push(path.join('.'));
  }
  return missing;
}

function requiredFields(engine: Liquid, parsed: Template[], source: string): string[][] {
  const analysis = engine.analyzeSync(parsed);
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') lineStarts.push(i + 1);
  const seen = new Map<string, string[]>();
  for (const uses of Object.values(analysis.globals)) {
    for (const use of uses) {
      const segments = use.segments.filter((s): s is string => typeof s === 'string');
      if (segments.length === 0 || segments[0] === 'forloop') continue;
      const offset = (lineStarts[use.location.row - 1] ?? 0) + use.location.col - 1;
      if (isOptionalUse(source, offset)) continue;
      seen.set(segments.join('.'), segments);
    }
  }
  return [...seen.values()];
}

/** A use is optional when its tag is a condition or loop, or its output has a `default` filter. */
function isOptionalUse(source: string, offset: number): boolean {
  const outputStart = source.lastIndexOf('{{', offset);
  const tagStart = source.lastIndexOf('{%', offset);
  const start = Math.max(outputStart, tagStart);
  if (start < 0) return false;
  const end = source.indexOf(start === outputStart ? '}}' : '%}', start);
  const token = source.slice(start, end < 0 ? undefined : end + 2);
  if (/\|\s*default\b/.test(token)) return true;
  return start === tagStart && /^\{%-?\s*(if|unless|elsif|case|when|for)\b/.test(token);
}
