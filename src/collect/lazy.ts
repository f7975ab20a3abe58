/**
 * Own, enumerable properties read on first use and kept (a collected fact most commands never
 * ask for: a device's `reset_method`, a group's `reserved_regions`). The accessors are shared by
 * every object of a kind and each object's state sits in a WeakMap: a getter written in an object
 * literal turns each object into a dictionary, and per-object closures give each its own hidden
 * class, and either slows every later read of the object's other properties.
 */
export type LazyProperties<K extends string> = (target: object, compute: (name: K) => unknown) => void

interface LazyState<K extends string> {
  compute: (name: K) => unknown
  values: Partial<Record<K, {value: unknown}>>
}

export function lazyProperties<K extends string>(names: readonly K[]): LazyProperties<K> {
  const states = new WeakMap<object, LazyState<K>>()
  const descriptors: PropertyDescriptorMap = {}
  for (const name of names) {
    descriptors[name] = {
      enumerable: true,
      configurable: true,
      get(this: object) {
        const state = states.get(this)
        return state === undefined ? undefined : (state.values[name] ??= {value: state.compute(name)}).value
      },
      // An assigned value wins over the computed one, as it would over a plain field.
      set(this: object, value: unknown) {
        const state = states.get(this)
        if (state !== undefined) state.values[name] = {value}
      },
    }
  }
  return (target, compute) => {
    states.set(target, {compute, values: {}})
    Object.defineProperties(target, descriptors)
  }
}
