import { csrfField, esc, PAGE_CSP } from './layout.js';

/**
 * The one script of the hosted pages: it runs a WebAuthn ceremony (passkeys) and posts its
 * answer in an ordinary form. Served from the provider; a page that uses it allows exactly this
 * file (`passkeyCsp`), every other page no script at all. Without JavaScript (or WebAuthn) the
 * passkey forms stay hidden and the other ways to sign in work as before.
 */
export const PASSKEY_SCRIPT = `(() => {
  const pkc = window.PublicKeyCredential;
  if (!pkc || !pkc.parseCreationOptionsFromJSON || !navigator.credentials) return;
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = form.querySelector('[data-status]');
      try {
        const options = JSON.parse(form.dataset.options);
        const credential = form.dataset.passkey === 'register'
          ? await navigator.credentials.create({ publicKey: pkc.parseCreationOptionsFromJSON(options) })
          : await navigator.credentials.get({ publicKey: pkc.parseRequestOptionsFromJSON(options) });
        form.elements.response.value = JSON.stringify(credential.toJSON());
        form.submit();
      } catch {
        if (status) status.textContent = form.dataset.failed;
      }
    });
  }
})();
`;

/** the CSP of a page with a passkey form: the page CSP plus this one script, by its URL */
export const passkeyCsp = (scriptUrl: string) => `${PAGE_CSP}; script-src ${scriptUrl}`;

/** a passkey form: hidden until the script shows it; the ceremony's options ride along as JSON */
export function passkeyForm(o: { action: string; csrf: string; options: string; kind: 'register' | 'get'; label: string; failed: string; scriptSrc: string; fields?: string; primary?: boolean }): string {
  return `<form method="post" action="${esc(o.action)}" data-passkey="${o.kind}" data-options="${esc(o.options)}" data-failed="${esc(o.failed)}" hidden>
${csrfField(o.csrf)}<input type="hidden" name="response" value="">${o.fields ?? ''}
<button type="submit"${o.primary ? '' : ' class="secondary"'}>${esc(o.label)}</button>
<p class="hint" data-status role="status"></p>
</form>
<script src="${esc(o.scriptSrc)}" defer></script>`;
}
