/**
 * Where the bounce policy's files are and how they reload: the shipped
 * policy/bounce-rules.yaml and policy/bounce-categories.yaml, with the operator's files of
 * the same names in the policy directory tried first, watched like every other policy file.
 *
 * Reading, validating and compiling the rules stays in qualification/policy.ts (passed in as
 * `load`): the rules' validation and their compilation to matchers are one step there, and
 * config/ must not import a stage.
 */
import { join } from 'node:path';
import { layeredFiles, PolicyWatcher, SHIPPED_POLICY_DIR, type LayeredFiles } from './policy-file.ts';

export const BOUNCE_RULES_NAME = 'bounce-rules.yaml';
export const BOUNCE_CATEGORIES_NAME = 'bounce-categories.yaml';
export const SHIPPED_RULES_FILE = join(SHIPPED_POLICY_DIR, BOUNCE_RULES_NAME);
export const SHIPPED_CATEGORIES_FILE = join(SHIPPED_POLICY_DIR, BOUNCE_CATEGORIES_NAME);

/** The operator's bounce files that exist (each list empty or one file), most important first. */
export interface BouncePolicyFiles {
  rulesFiles: string[];
  categoriesFiles: string[];
}

export function operatorBounceFiles(operatorDir: string | null | undefined): BouncePolicyFiles {
  return fromLayers([layeredFiles(BOUNCE_RULES_NAME, operatorDir), layeredFiles(BOUNCE_CATEGORIES_NAME, operatorDir)]);
}

/**
 * The bounce policy, reloaded when any of the four files changes; an invalid new version
 * is reported to onError and the previous policy stays in force. Call watch() to start.
 */
export function bouncePolicyWatcher<T>(operatorDir: string | null | undefined, load: (files: BouncePolicyFiles) => T, onError?: (err: Error) => void): PolicyWatcher<T> {
  return new PolicyWatcher([BOUNCE_RULES_NAME, BOUNCE_CATEGORIES_NAME], operatorDir, (_first, all) => load(fromLayers(all)), onError);
}

function fromLayers([rules, categories]: LayeredFiles[]): BouncePolicyFiles {
  return { rulesFiles: rules.operator ? [rules.operator] : [], categoriesFiles: categories.operator ? [categories.operator] : [] };
}
