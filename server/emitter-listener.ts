// One listener function for every connection instead of a closure per connection: an
// EventEmitter calls its listeners with `this` = the emitter, which the handler gets as its first
// argument. What a closure per connection costs (the function, its context, often a `once`
// wrapper) is most of what an idle connection holds beyond socket.io's own objects.

/** A listener that can be added to any number of emitters of type `E`. */
export function perEmitter<E, A = unknown, B = unknown>(
  handler: (emitter: E, a: A, b: B) => void,
): (this: E, a: A, b: B) => void {
  return function (this: E, a: A, b: B) {
    handler(this, a, b);
  };
}
