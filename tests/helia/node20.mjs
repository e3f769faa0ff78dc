// helia 7 uses Promise.withResolvers (ES2024, Node 22); Node 20 is what datasoil's tests
// run on, so define it first, exactly as the standard does. Imported before anything else.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
