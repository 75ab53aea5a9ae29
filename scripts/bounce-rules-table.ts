/**
 * Prints the shipped bounce rules as a markdown table (order, id, layer of evidence, what
 * the rule looks at, category, source), for the "Rules and their sources" section of
 * docs/BOUNCES.md:
 *
 *   npx tsx scripts/bounce-rules-table.ts
 *
 * Reads policy/bounce-rules.yaml through loadBouncePolicy; writes nothing.
 */
import { loadBouncePolicy } from '../src/qualification/index.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
const policy = loadBouncePolicy();
console.log('| # | rule | layer | uses | category | source |');
console.log('|---|---|---|---|---|---|');
policy.rules.forEach((rule, i) => {
  const uses = rule.uses.map((u) => u.replace(/\|/g, ' or ')).join(', ');
  console.log(`| ${i + 1} | \`${rule.id}\` | ${rule.evidence} | ${cell(uses)} | ${rule.category} | ${cell(rule.reference ?? '')} |`);
});
