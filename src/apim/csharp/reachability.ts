import type { Expr, Stmt } from './ast.js';

const isTrue = (e: Expr | undefined): boolean => e === undefined || (e.kind === 'literal' && e.value === true);

/** Whether control cannot reach the end of `s` (C#'s reachability, simplified): every path returns or throws. */
export function endsAbruptly(s: Stmt): boolean {
  switch (s.kind) {
    case 'return': case 'throw': return true;
    case 'block': return s.body.some(endsAbruptly);
    case 'if': return !!s.otherwise && endsAbruptly(s.then) && endsAbruptly(s.otherwise);
    case 'while': case 'for': return isTrue(s.test) && !breaks(s.body);
    case 'do': return endsAbruptly(s.body);
    case 'try': return (endsAbruptly(s.block) && s.catches.every((c) => endsAbruptly(c.body))) || (!!s.finally && endsAbruptly(s.finally));
    case 'using': return !!s.body && endsAbruptly(s.body);
    case 'switch': return s.sections.some((x) => x.labels.includes('default')) && s.sections.every((x) => x.body.some(endsAbruptly) && !x.body.some(breaks));
    default: return false;
  }
}

/** Whether a `break` inside `s` leaves the loop or switch `s` belongs to. */
function breaks(s: Stmt): boolean {
  switch (s.kind) {
    case 'break': return true;
    case 'block': return s.body.some(breaks);
    case 'if': return breaks(s.then) || (!!s.otherwise && breaks(s.otherwise));
    case 'try': return breaks(s.block) || s.catches.some((c) => breaks(c.body)) || (!!s.finally && breaks(s.finally));
    case 'using': return !!s.body && breaks(s.body);
    default: return false;
  }
}
