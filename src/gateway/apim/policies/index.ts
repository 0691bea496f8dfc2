/** Registers every XML policy module (importing this file fills the registry). */
import './request.js';
import './forward.js';
import './flow.js';
import './response.js';
import './outside.js';
import './adapters.js';
import './throttle.js';
import './ai.js';
import './convert.js';
import './identity.js';
import './validate.js';
