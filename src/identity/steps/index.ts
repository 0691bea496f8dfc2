import type { OidcPolicy } from '../provider/oidc.js';
import { consent } from './consent.js';
import type { InteractionStep } from './step.js';

/**
 * The interaction steps after sign-in, in the order they run. A new step (MFA, terms of
 * service) is one file here and one entry in this list.
 */
export const STEPS: readonly InteractionStep[] = [consent];

/**
 * oidc-provider's interaction policy from the step list: sign-in (`login`) first, then each
 * step's prompt in list order. `builtIn` is oidc-provider's default policy (login, consent).
 */
export function interactionPolicy(builtIn: OidcPolicy, steps: readonly InteractionStep[] = STEPS): OidcPolicy {
  const login = builtIn.get('login');
  if (!login) throw new Error('oidc-provider has no login prompt');
  const prompts = steps.map((s) => s.prompt(builtIn));
  builtIn.clear();
  builtIn.add(login);
  for (const p of prompts) builtIn.add(p);
  return builtIn;
}
