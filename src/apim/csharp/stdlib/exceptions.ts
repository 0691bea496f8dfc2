import { CsException, EXCEPTION_TYPES, exceptionIs } from '../runtime/exceptions.js';
import { addMembers, defineType, named, type MemberSpec, type TypeDef } from '../types.js';

/** Exception types: what `catch (FormatException e)` matches and `throw new …` creates. */
const defs = new Map<string, TypeDef>();
const NS: Record<string, string> = { JsonException: 'Newtonsoft.Json', JsonReaderException: 'Newtonsoft.Json', JsonSerializationException: 'Newtonsoft.Json', KeyNotFoundException: 'System.Collections.Generic', CryptographicException: 'System.Security.Cryptography' };

function parentOf(name: string): string | undefined {
  // the nearest base: the one that is itself derived from every other base of `name`
  const bases = EXCEPTION_TYPES.filter((o) => o !== name && exceptionIs(name, o));
  return bases.find((b) => bases.every((o) => o === b || exceptionIs(b, o)));
}

const withParam = (m: string, p: string | null) => (p ? `${m} (Parameter '${p}')` : m);

/** Constructors; the Argument exceptions take a parameter name as .NET's do. */
function ctors(name: string): MemberSpec[] {
  const plain: MemberSpec[] = [
    ['new()', () => new CsException(name, `Exception of type 'System.${name}' was thrown.`)],
    ['new(string, Exception)', (m: string | null, inner: CsException | null) => new CsException(name, m ?? '', inner)],
  ];
  switch (name) {
    case 'ArgumentException': return [...plain,
      ['new(string)', (m: string | null) => new CsException(name, m ?? 'Value does not fall within the expected range.')],
      ['new(string, string)', (m: string | null, p: string | null) => new CsException(name, withParam(m ?? '', p))]];
    case 'ArgumentNullException': return [plain[0]!,
      ['new(string)', (p: string | null) => new CsException(name, withParam('Value cannot be null.', p))],
      ['new(string, string)', (p: string | null, m: string | null) => new CsException(name, withParam(m ?? '', p))]];
    case 'ArgumentOutOfRangeException': return [plain[0]!,
      ['new(string)', (p: string | null) => new CsException(name, withParam('Specified argument was out of the range of valid values.', p))],
      ['new(string, string)', (p: string | null, m: string | null) => new CsException(name, withParam(m ?? '', p))]];
    default: return [...plain, ['new(string)', (m: string | null) => new CsException(name, m ?? `Exception of type 'System.${name}' was thrown.`)]];
  }
}

for (const name of EXCEPTION_TYPES) {
  const parent = parentOf(name);
  const def = defineType({
    name, ns: NS[name] ?? 'System',
    base: parent ? () => named(defs.get(parent)!) : undefined,
    is: name === 'Exception' ? (v) => v instanceof CsException : (v) => v instanceof CsException && v.isA(name),
  });
  defs.set(name, def);
  addMembers(def, [...ctors(name)]);
}
addMembers(defs.get('Exception')!, [
  ['Message: string', (e: CsException) => e.message],
  ['InnerException: Exception', (e: CsException) => e.innerException],
  ['StackTrace: string', () => ''],
  ['Source: string', () => 'Gatehouse'],
  ['ToString(): string', (e: CsException) => `${e.type}: ${e.message}`],
]);
