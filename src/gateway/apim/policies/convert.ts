import { literalAttr } from '../values.js';
import { registerPolicy } from '../registry.js';

/**
 * jsonp: wraps a JSON response as `callback(…)` when the request names a callback in the query
 * parameter `callback-parameter-name`. The name must be a JavaScript identifier path
 * (`cb`, `app.handlers.cb`, at most 128 characters): anything else leaves the response as it is,
 * so that a caller cannot make the API answer script of its choosing.
 */

const CALLBACK = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

registerPolicy({
  name: 'jsonp', sections: ['outbound'], attributes: ['callback-parameter-name'], required: ['callback-parameter-name'],
  compile(el) {
    const param = literalAttr(el, 'callback-parameter-name')!;
    return (c) => {
      const r = c.ex.response;
      if (r === undefined || c.ex.query === '') return undefined;
      const cb = new URLSearchParams(c.ex.query).get(param);
      if (cb === null || cb.length > 128 || !CALLBACK.test(cb)) return undefined;
      const b = r.body;
      if (typeof b !== 'string' && !Buffer.isBuffer(b)) return undefined;
      r.body = `/**/${cb}(${b.toString()})`;
      delete r.headers['content-length'];
      r.headers['content-type'] = 'application/javascript; charset=utf-8';
      r.headers['x-content-type-options'] = 'nosniff';
      return undefined;
    };
  },
});
