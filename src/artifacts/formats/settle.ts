/**
 * Run two tasks side by side and wait for both before failing. With
 * Promise.all the first failure returns while a tool may still be writing the
 * partial output, which writeAtomically would then remove under it, only for
 * the tool to create it again.
 */
export async function runBothSettled<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
