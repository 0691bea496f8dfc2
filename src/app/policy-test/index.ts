export class TestUsage extends Error {}
export async function testCommand(_a: string[], _o: NodeJS.WritableStream, _e: NodeJS.WritableStream): Promise<number> { return 2; }
