/**
 * C# exceptions at run time. `CsException` is what `catch` sees; `EvaluationLimitExceeded` (the
 * step, allocation or depth bound) is not a C# exception, so no `catch` in a policy can swallow it.
 */
const BASES: Record<string, string> = {
  SystemException: 'Exception',
  ApplicationException: 'Exception',
  ArgumentException: 'SystemException',
  ArgumentNullException: 'ArgumentException',
  ArgumentOutOfRangeException: 'ArgumentException',
  FormatException: 'SystemException',
  UriFormatException: 'FormatException',
  InvalidOperationException: 'SystemException',
  InvalidCastException: 'SystemException',
  NullReferenceException: 'SystemException',
  KeyNotFoundException: 'SystemException',
  IndexOutOfRangeException: 'SystemException',
  ArithmeticException: 'SystemException',
  DivideByZeroException: 'ArithmeticException',
  OverflowException: 'ArithmeticException',
  NotSupportedException: 'SystemException',
  NotImplementedException: 'SystemException',
  TimeoutException: 'SystemException',
  CryptographicException: 'SystemException',
  JsonException: 'Exception',
  JsonReaderException: 'JsonException',
  JsonSerializationException: 'JsonException',
  RegexParseException: 'ArgumentException',
};

export const EXCEPTION_TYPES = ['Exception', ...Object.keys(BASES)];

export class CsException extends Error {
  constructor(readonly type: string, message: string, readonly innerException: CsException | null = null) {
    super(message);
  }
  /** Whether this exception is of `target` or a type derived from it. */
  isA(target: string): boolean {
    for (let t: string | undefined = this.type; t; t = BASES[t]) if (t === target) return true;
    return false;
  }
}

export function isExceptionType(name: string): boolean {
  return name === 'Exception' || name in BASES;
}

export function exceptionIs(type: string, target: string): boolean {
  for (let t: string | undefined = type; t; t = BASES[t]) if (t === target) return true;
  return false;
}

export const fail = (type: string, message: string): never => { throw new CsException(type, message); };

export const nullRef = (): never => fail('NullReferenceException', 'Object reference not set to an instance of an object.');
export const invalidCast = (from: string, to: string): never => fail('InvalidCastException', `Unable to cast object of type '${from}' to type '${to}'.`);
export const formatError = (what = 'The input string was not in a correct format.'): never => fail('FormatException', what);
export const argNull = (param: string): never => fail('ArgumentNullException', `Value cannot be null. (Parameter '${param}')`);
export const argRange = (param: string, why = 'Specified argument was out of the range of valid values.'): never =>
  fail('ArgumentOutOfRangeException', `${why} (Parameter '${param}')`);
export const indexRange = (): never => fail('IndexOutOfRangeException', 'Index was outside the bounds of the array.');
export const noElements = (): never => fail('InvalidOperationException', 'Sequence contains no elements');
export const keyNotFound = (key: unknown): never => fail('KeyNotFoundException', `The given key '${String(key)}' was not present in the dictionary.`);

/** A bound of one evaluation was reached (steps, allocation, call depth). Not catchable in C#. */
export class EvaluationLimitExceeded extends Error {
  constructor(readonly limit: 'steps' | 'allocation' | 'depth', message: string) {
    super(message);
  }
}

/** Turns any error thrown while evaluating into a C# exception (`catch` sees these). */
export function asCsException(err: unknown): CsException {
  if (err instanceof CsException) return err;
  if (err instanceof EvaluationLimitExceeded) throw err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    throw new EvaluationLimitExceeded('depth', 'the expression recursed too deeply');
  }
  if (err instanceof TypeError && /null|undefined/.test(err.message)) {
    return new CsException('NullReferenceException', 'Object reference not set to an instance of an object.');
  }
  return new CsException('Exception', err instanceof Error ? err.message : String(err));
}
