import type { IncomingMessage, ServerResponse } from 'node:http';
import { problem } from './problems.js';
import { respond, send } from './respond.js';
import { finish } from './finish.js';
import { accept, GONE, HTTP_STAGES, runStages } from './stages.js';
import type { GatewayContext, ListenerContext } from './context.js';

export type { GatewayContext, ListenerContext } from './context.js';

/**
 * An HTTP request, start to end: accept it, run the stages (stages.ts), answer with what a stage
 * said or with the backend's response, and account for it when the response is over (finish.ts).
 */
export async function handleRequest(gw: GatewayContext, listener: ListenerContext, req: IncomingMessage, res: ServerResponse, expectContinue = false): Promise<void> {
  const t = accept(gw, listener, req, res, expectContinue);
  const ex = t.ex;
  // the connection, kept: a consumer that destroys the request stream detaches `req.socket`
  const socket = req.socket;
  const bytesWrittenAtStart = socket.bytesWritten ?? 0;
  res.once('close', () => finish(gw, ex, socket, bytesWrittenAtStart));
  if (t.refused) return respond(gw, ex, undefined, t.refused, t.expectContinue);
  try {
    let r = runStages(HTTP_STAGES, t);
    if (r instanceof Promise) r = await r;
    if (r === GONE) return;
    if (r !== undefined) return respond(gw, ex, t.api, r, t.expectContinue, t.pipeline);
    return send(gw, ex, ex.response!);
  } catch (err) {
    gw.logger.error({ err, requestId: ex.requestId, api: t.api?.name }, 'unexpected error in the request pipeline');
    return respond(gw, ex, t.api, problem('internal-error', 'The gateway failed to process the request.'), false);
  }
}
