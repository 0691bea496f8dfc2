/** Loads the library: every type the checker can resolve. The order matters only for readability. */
import './strings.js';
import './numbers.js';
import './encoding.js';
import './collections.js';
import './linq.js';
import './datetime.js';
import './web.js';
import './json.js';
import './xml.js';
import './regex.js';
import './crypto.js';
import './exceptions.js';
import './context.js';
