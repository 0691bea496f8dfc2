import type { UserStore } from '../accounts.js';
import type { Mfa } from '../mfa/index.js';
import { loadOidcProvider, type OidcInteractionPolicy, type OidcPolicy } from '../provider/oidc.js';
import { consent } from './consent.js';
import { mfaStep } from './mfa.js';
import type { InteractionStep } from './step.js';

/**
 * The interaction steps after sign-in that need nothing but the interaction (consent). A new
 * step (terms of service) is one file here and one entry in `defaultSteps`.
 */
export const STEPS: readonly InteractionStep[] = [consent];

/** The interaction steps after sign-in, in the order they run: the second factor, then consent. */
export async function defaultSteps(mfa: Mfa, users: UserStore): Promise<InteractionStep[]> {
  const { interactionPolicy: policy } = await loadOidcProvider();
  return [mfaStep(mfa, users, policy as unknown as OidcInteractionPolicy), ...STEPS];
}

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
