/// A binary heap: `pop()` returns the element that `comesFirst` ranks ahead of all others.
///
/// The BPE merge engine uses it as a min-heap of merge ranks, the BPE trainer as a max-heap of
/// pair counts.
struct BinaryHeap<Element> {
    private var items: [Element] = []
    private let comesFirst: (Element, Element) -> Bool

    init(comesFirst: @escaping (Element, Element) -> Bool) {
        self.comesFirst = comesFirst
    }

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard comesFirst(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && comesFirst(items[left], items[best]) { best = left }
                if right < items.count && comesFirst(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
