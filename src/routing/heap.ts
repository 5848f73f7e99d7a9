/**
 * A binary min-heap of node indices keyed by a caller-owned distance array,
 * for Dijkstra with lazy deletion: a node may be pushed again with a smaller
 * key, and stale entries are skipped by the caller (it checks `settled`).
 * Keys are copied at push time, so later changes to the array cannot corrupt
 * the heap order.
 */
export class NodeHeap {
  private readonly nodes: number[] = []
  private readonly keys: number[] = []

  /** size is the number of entries, stale ones included. */
  get size (): number {
    return this.nodes.length
  }

  /** push adds `node` with priority `key`. Ties pop lower node index first (= lower PeerId). */
  push (node: number, key: number): void {
    this.nodes.push(node)
    this.keys.push(key)
    this.up(this.nodes.length - 1)
  }

  /** pop removes and returns the node with the smallest key, or -1 when empty. */
  pop (): number {
    const top = this.nodes[0]
    if (top === undefined) return -1
    const lastNode = this.nodes.pop() as number
    const lastKey = this.keys.pop() as number
    if (this.nodes.length > 0) {
      this.nodes[0] = lastNode
      this.keys[0] = lastKey
      this.down(0)
    }
    return top
  }

  private less (i: number, j: number): boolean {
    const ki = this.keys[i] as number
    const kj = this.keys[j] as number
    return ki < kj || (ki === kj && (this.nodes[i] as number) < (this.nodes[j] as number))
  }

  private swap (i: number, j: number): void {
    const n = this.nodes[i] as number; this.nodes[i] = this.nodes[j] as number; this.nodes[j] = n
    const k = this.keys[i] as number; this.keys[i] = this.keys[j] as number; this.keys[j] = k
  }

  private up (i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down (i: number): void {
    const n = this.nodes.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.less(l, m)) m = l
      if (r < n && this.less(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }
}
