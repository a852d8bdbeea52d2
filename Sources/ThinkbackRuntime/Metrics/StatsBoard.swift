import CLibEvent
#if canImport(Glibc)
import Glibc
#endif
import ThinkbackCore

/// Every counter the status JSON, the status page and `/metrics` show, kept in memory the
/// workers share (issue 20: `--workers`, one per core by default). Each worker owns one slot
/// and is its only writer; a reader sums the slots, so whichever worker answers `GET /status`
/// or `/metrics` answers for all of them, and a count is there for every reader the moment it
/// is bumped (a client that saw its answer sees it counted, through any worker).
///
/// Each slot holds one *lane* per upstream (issue 21): the per-request counts — requests by
/// route and status, bytes, latencies, restoration, fixes — are kept by the upstream the request
/// went to, so `/metrics` labels them with it; the rest (the store, the commit gate, levels)
/// lives in lane 0 alone.
///
/// The mapping is made before the supervisor forks; a worker started again after one died takes
/// the same slot and goes on from its counts (a Prometheus counter never goes back), its levels
/// (requests in flight, streams open) reset. Loop thread only, like everything of a worker.
public final class StatsBoard: @unchecked Sendable {
    /// The scalar cells, one per counter or level.
    enum Cell: Int, CaseIterable {
        // The proxy.
        case served, inFlight, streaming, streamQueuedBytes, acceptPauses, draining, bytesIn, bytesOut
        // Restoration (`RestoreCounters`).
        case requestsScanned, requestsRestored, restored, hitsContext, hitsToolCallID, hitsContent, misses
        case autoRetries, rejected, invalidJSON, captured, captureSkipped, refusedDrops, rescued
        // The commit gate (`CommitGate.Counters`).
        case held, committed, timeouts, commitFailures
        // The store (`StoreStatistics`): counts this worker's store made, and its last view of
        // the shared totals with the board's sequence number when it took them.
        case storeHits, storeMisses, storeEvictions, storeExpirations, storeAmbiguous, storeRejections, storeFailures
        case storeDegraded, storeStamp, storeEntries, storeKeys, storeBytes
        // 1 while the worker serves.
        case alive
    }

    /// Cells a worker's counts continue from when it starts again (a process-local count taken
    /// as this worker's count since it started, plus what its slot held then).
    private static let mirroredCounts: [Cell] = [
        .acceptPauses, .storeHits, .storeMisses, .storeEvictions, .storeExpirations, .storeAmbiguous,
        .storeRejections, .storeFailures, .held, .committed, .timeouts, .commitFailures,
    ]
    /// Levels: reset when a worker starts.
    private static let levels: [Cell] = [.inFlight, .streaming, .streamQueuedBytes, .draining, .storeDegraded, .alive]

    /// A histogram's cells: one count per bucket (not cumulative) and +Inf, the sum, the count.
    struct Histogram {
        let bounds: [UInt64]    // upper bounds, in the recorded unit, ascending
        let offset: Int
        var cellCount: Int { bounds.count + 3 }
    }

    static let latencyBoundsMs: [UInt64] = [5, 25, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000]
    static let commitBoundsUs: [UInt64] = [500, 1000, 2000, 5000, 10_000, 25_000, 50_000, 100_000, 200_000]

    let firstByte: Histogram
    let duration: Histogram
    let commitWait: Histogram
    /// Fallbacks by miss strategy (`MissStrategy.allCases` order).
    let fallbacksOffset: Int
    /// Request fixes by kind (`ChatHygiene.Fix.allCases` order).
    let fixesOffset: Int
    /// Requests by route (`Route.allCases` order) and status (`statusSlots`, then a class each).
    let requestsOffset: Int
    /// The statuses counted apart; any other counts under its class (`4xx`).
    static let statusCodes = [200, 201, 202, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 410,
                              413, 414, 415, 422, 429, 431, 499, 500, 501, 502, 503, 504, 529]
    static let statusSpan = statusCodes.count + 5
    /// Cells of one lane (the block repeated per upstream), and the lanes.
    let laneStride: Int
    let lanes: Int
    /// Requests in flight per proxy key, by a hash of its name (`--proxy-key-concurrency`):
    /// two keys sharing a cell share a limit, which errs on the side of the limit.
    let keyOffset: Int
    static let keyCells = 1024

    /// Cells per slot, and the slots.
    let cellsPerSlot: Int
    let slots: Int
    /// The board's own cells before the slots: 1 counts the announcements, then comes the ring
    /// of the last ones (`announce`): each its number, its kind, and a key's 49 bytes.
    private static let ringEntries = 64
    private static let ringCells = 9
    private static let headerCells = 8 + ringEntries * ringCells
    private let base: UnsafeMutablePointer<UInt64>
    /// This process's slot (0 outside `--workers`).
    public private(set) var slot = 0
    private var offsets: [UInt64]
    /// The announcements this worker has applied.
    private var announcementsSeen: UInt64 = 0

    /// A board for `slots` workers, in shared memory (falls back to private memory, which is
    /// only right for one worker, if the mapping fails).
    public convenience init(slots: Int, lanes: Int = 1) {
        self.init(slots: slots, lanes: lanes, memory: nil)
    }

    /// Another process's view of `board`'s memory, as a forked worker has it (tests).
    convenience init(sibling board: StatsBoard) {
        self.init(slots: board.slots, lanes: board.lanes, memory: board.base)
    }

    /// The layout for `slots` and `lanes`, over `memory` (nil: a new mapping).
    private init(slots: Int, lanes: Int, memory: UnsafeMutablePointer<UInt64>?) {
        self.slots = max(1, slots)
        self.lanes = max(1, lanes)
        var next = Cell.allCases.count
        fallbacksOffset = next
        next += MissStrategy.allCases.count
        fixesOffset = next
        next += ChatHygiene.Fix.allCases.count
        firstByte = Histogram(bounds: Self.latencyBoundsMs, offset: next)
        next += firstByte.cellCount
        duration = Histogram(bounds: Self.latencyBoundsMs, offset: next)
        next += duration.cellCount
        requestsOffset = next
        next += Route.allCases.count * Self.statusSpan
        laneStride = next
        next = laneStride * self.lanes
        commitWait = Histogram(bounds: Self.commitBoundsUs, offset: next)
        next += commitWait.cellCount
        keyOffset = next
        next += Self.keyCells
        cellsPerSlot = next
        offsets = Array(repeating: 0, count: Cell.allCases.count)
        if let memory {
            base = memory
            return
        }
        let bytes = (Self.headerCells + cellsPerSlot * self.slots) * MemoryLayout<UInt64>.stride
        if let shared = cle_shared_map(bytes) {
            base = shared.bindMemory(to: UInt64.self, capacity: bytes / 8)
        } else {
            base = UnsafeMutablePointer<UInt64>.allocate(capacity: bytes / 8)
            base.initialize(repeating: 0, count: bytes / 8)
        }
    }

    /// Takes `slot` for this process (a worker, after the fork): its levels reset, its counts
    /// go on from what the slot holds.
    public func attach(slot: Int) {
        self.slot = min(max(0, slot), slots - 1)
        for cell in Self.levels { store(cell, 0) }
        for k in 0 ..< Self.keyCells { cle_cell_store(pointer(keyOffset + k), 0) }
        for cell in Self.mirroredCounts { offsets[cell.rawValue] = cle_cell_load(pointer(cell.rawValue)) }
        store(.alive, 1)
        announcementsSeen = cle_cell_load(base + 1)   // a new worker's hot tier is empty
    }

    // MARK: Announcements (a clear or a refusal through one worker, for all of them)

    /// What one worker did to the shared store that the others must mirror in what they keep
    /// in memory (their hot tiers) before their next request.
    enum Announcement: Equatable {
        /// `POST /admin/cache/clear`: one tenant's captures (nil: everyone's).
        case clear(TenantID?)
        /// The provider refused the value under this key: it is not to be sent again.
        case forget(CacheKey)
    }

    /// Tells the other workers what this one did to the shared store.
    func announce(_ a: Announcement) {
        let number = cle_cell_add(base + 1, 1)
        let entry = base + 8 + Int((number - 1) % UInt64(Self.ringEntries)) * Self.ringCells
        var payload = [UInt8](repeating: 0, count: (Self.ringCells - 2) * 8)
        switch a {
        case .clear(let tenant):
            cle_cell_store(entry + 1, tenant == nil ? 1 : 2)
            if let tenant { payload.replaceSubrange(0 ..< TenantID.byteCount, with: tenant.bytes) }
        case .forget(let key):
            cle_cell_store(entry + 1, 3)
            payload.replaceSubrange(0 ..< CacheKey.byteCount, with: key.bytes)
        }
        payload.withUnsafeBytes { raw in
            for i in 0 ..< Self.ringCells - 2 { cle_cell_store(entry + 2 + i, raw.load(fromByteOffset: i * 8, as: UInt64.self)) }
        }
        cle_cell_store(entry, number)
        if number == announcementsSeen + 1 { announcementsSeen = number }   // this worker did it already
    }

    func announceClear(tenant: TenantID?) { announce(.clear(tenant)) }

    /// Whether another worker announced something this one has not applied (one load: asked
    /// before every request).
    @inline(__always) var announcementsPending: Bool { cle_cell_load(base + 1) > announcementsSeen }

    /// The announcements since this worker last looked; nil when more came than the ring keeps
    /// (then the worker drops everything it keeps in memory). One still being written is left
    /// for the next look.
    func takeAnnouncements() -> [Announcement]? {
        let announced = cle_cell_load(base + 1)
        if announced - announcementsSeen > UInt64(Self.ringEntries) {
            announcementsSeen = announced
            return nil
        }
        var out: [Announcement] = []
        while announcementsSeen < announced {
            let number = announcementsSeen + 1
            let entry = base + 8 + Int((number - 1) % UInt64(Self.ringEntries)) * Self.ringCells
            guard cle_cell_load(entry) == number else { break }
            var payload = [UInt8](repeating: 0, count: (Self.ringCells - 2) * 8)
            payload.withUnsafeMutableBytes { raw in
                for i in 0 ..< Self.ringCells - 2 { raw.storeBytes(of: cle_cell_load(entry + 2 + i), toByteOffset: i * 8, as: UInt64.self) }
            }
            switch cle_cell_load(entry + 1) {
            case 1: out.append(.clear(nil))
            case 2: out.append(.clear(TenantID(bytes: payload[0 ..< TenantID.byteCount])))
            case 3: if let key = CacheKey(bytes: payload[0 ..< CacheKey.byteCount]) { out.append(.forget(key)) }
            default: break
            }
            announcementsSeen = number
        }
        return out
    }

    // MARK: This worker's slot

    @inline(__always) private func pointer(_ index: Int, slot: Int? = nil) -> UnsafeMutablePointer<UInt64> {
        base + Self.headerCells + (slot ?? self.slot) * cellsPerSlot + index
    }

    @inline(__always) func add(_ cell: Cell, _ n: Int = 1, lane: Int = 0) {
        _ = cle_cell_add(pointer(laneBase(lane) + cell.rawValue), UInt64(bitPattern: Int64(n)))
    }

    /// Where lane `lane` starts in a slot (an index out of range counts in lane 0).
    @inline(__always) private func laneBase(_ lane: Int) -> Int { lane > 0 && lane < lanes ? lane * laneStride : 0 }

    @inline(__always) func store(_ cell: Cell, _ value: Int) {
        cle_cell_store(pointer(cell.rawValue), UInt64(bitPattern: Int64(value)))
    }

    /// This worker's value of `cell`.
    @inline(__always) func local(_ cell: Cell) -> Int { Int(Int64(bitPattern: cle_cell_load(pointer(cell.rawValue)))) }

    /// A count this process keeps itself (since it started), as this worker's.
    func mirror(_ cell: Cell, _ value: Int) {
        cle_cell_store(pointer(cell.rawValue), offsets[cell.rawValue] &+ UInt64(max(0, value)))
    }

    func addFallback(_ strategy: MissStrategy, lane: Int = 0) {
        guard let i = MissStrategy.allCases.firstIndex(of: strategy) else { return }
        _ = cle_cell_add(pointer(laneBase(lane) + fallbacksOffset + i), 1)
    }

    func addFix(_ fix: ChatHygiene.Fix, lane: Int = 0) {
        guard let i = ChatHygiene.Fix.allCases.firstIndex(of: fix) else { return }
        _ = cle_cell_add(pointer(laneBase(lane) + fixesOffset + i), 1)
    }

    /// Records `value` in `histogram` (`lane`: for the per-upstream ones, `firstByte` and
    /// `duration`; `commitWait` is the board's).
    func record(_ histogram: Histogram, _ value: UInt64, lane: Int = 0) {
        var bucket = histogram.bounds.count
        for (i, bound) in histogram.bounds.enumerated() where value <= bound {
            bucket = i
            break
        }
        let o = (histogram.offset < laneStride ? laneBase(lane) : 0) + histogram.offset
        _ = cle_cell_add(pointer(o + bucket), 1)
        _ = cle_cell_add(pointer(o + histogram.bounds.count + 1), value)
        _ = cle_cell_add(pointer(o + histogram.bounds.count + 2), 1)
    }

    /// The status's place among `statusCodes`, else its class's after them.
    static func statusSlot(_ status: Int) -> Int {
        if let i = statusCodes.firstIndex(of: status) { return i }
        return statusCodes.count + min(max(status / 100, 1), 5) - 1
    }

    /// The label of a status slot: the code, or its class (`4xx`).
    static func statusLabel(_ slot: Int) -> String {
        slot < statusCodes.count ? String(statusCodes[slot]) : "\(slot - statusCodes.count + 1)xx"
    }

    func countRequest(route: Route, status: Int, lane: Int = 0) {
        guard let r = Route.allCases.firstIndex(of: route) else { return }
        _ = cle_cell_add(pointer(laneBase(lane) + requestsOffset + r * Self.statusSpan + Self.statusSlot(status)), 1)
    }

    /// The cell of proxy key `name`'s requests in flight.
    private func keyCell(_ name: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return keyOffset + Int(h % UInt64(Self.keyCells))
    }

    /// Requests in flight under proxy key `name`, across the workers.
    func keyInFlight(_ name: String) -> Int {
        let cell = keyCell(name)
        var total: UInt64 = 0
        for s in 0 ..< slots { total &+= cle_cell_load(pointer(cell, slot: s)) }
        return Int(Int64(bitPattern: total))
    }

    func keyStarted(_ name: String) { _ = cle_cell_add(pointer(keyCell(name)), 1) }
    func keyFinished(_ name: String) { _ = cle_cell_add(pointer(keyCell(name)), UInt64(bitPattern: -1)) }

    /// This worker's view of the store: its counts, and the shared totals with the time it took
    /// them (`StoreStatistics.totalsObservedNs`).
    func publish(store s: StoreStatistics) {
        mirror(.storeHits, s.hits)
        mirror(.storeMisses, s.misses)
        mirror(.storeEvictions, s.evictions)
        mirror(.storeExpirations, s.expirations)
        mirror(.storeAmbiguous, s.ambiguous)
        mirror(.storeRejections, s.rejections)
        mirror(.storeFailures, s.failures)
        store(.storeDegraded, s.degraded ? 1 : 0)
        // The stamp last: a reader taking the freshest slot gets these totals or the previous.
        if s.totalsObservedNs != UInt64(bitPattern: Int64(local(.storeStamp))) || s.totalsObservedNs == 0 {
            store(.storeEntries, s.entries)
            store(.storeKeys, s.keys)
            store(.storeBytes, s.bytes)
            cle_cell_store(pointer(Cell.storeStamp.rawValue), s.totalsObservedNs)
        }
    }

    // MARK: Every worker's

    /// `cell` summed over the workers (and the lanes).
    func sum(_ cell: Cell) -> Int {
        var total: UInt64 = 0
        for s in 0 ..< slots {
            for l in 0 ..< lanes { total &+= cle_cell_load(pointer(l * laneStride + cell.rawValue, slot: s)) }
        }
        return Int(Int64(bitPattern: total))
    }

    /// Every cell summed over the workers, the store's totals taken from the freshest view.
    func total() -> Totals {
        var cells = [UInt64](repeating: 0, count: cellsPerSlot)
        var freshest = -1
        var stamp: UInt64 = 0
        for s in 0 ..< slots {
            let p = base + Self.headerCells + s * cellsPerSlot
            for i in 0 ..< cellsPerSlot { cells[i] &+= cle_cell_load(p + i) }
            let st = cle_cell_load(p + Cell.storeStamp.rawValue)
            if st > stamp || freshest < 0 { stamp = st; freshest = s }
        }
        for cell in [Cell.storeEntries, .storeKeys, .storeBytes] {
            cells[cell.rawValue] = cle_cell_load(pointer(cell.rawValue, slot: freshest))
        }
        return Totals(board: self, cells: cells)
    }

    /// A summed copy of the board.
    struct Totals {
        let board: StatsBoard
        let cells: [UInt64]

        /// The value at `index` of lane `lane`'s block, or summed over the lanes (nil).
        private func laned(_ index: Int, _ lane: Int?) -> UInt64 {
            if let lane { return cells[lane * board.laneStride + index] }
            var total: UInt64 = 0
            for l in 0 ..< board.lanes { total &+= cells[l * board.laneStride + index] }
            return total
        }

        /// `cell` over every lane (the board's own cells are lane 0's alone).
        subscript(_ cell: Cell) -> Int { Int(Int64(bitPattern: laned(cell.rawValue, nil))) }

        /// `cell` of one upstream's lane.
        subscript(_ cell: Cell, lane lane: Int) -> Int { Int(Int64(bitPattern: laned(cell.rawValue, lane))) }

        func fixes(_ fix: ChatHygiene.Fix, lane: Int? = nil) -> Int {
            guard let i = ChatHygiene.Fix.allCases.firstIndex(of: fix) else { return 0 }
            return Int(laned(board.fixesOffset + i, lane))
        }

        func fallbacks(_ strategy: MissStrategy, lane: Int? = nil) -> Int {
            guard let i = MissStrategy.allCases.firstIndex(of: strategy) else { return 0 }
            return Int(laned(board.fallbacksOffset + i, lane))
        }

        /// Per bucket (cumulative, as Prometheus has them, +Inf last), the sum, the count; of
        /// one lane, or of all (nil; `commitWait` is the board's own).
        func histogram(_ h: Histogram, lane: Int? = nil) -> (buckets: [UInt64], sum: UInt64, count: UInt64) {
            let at: (Int) -> UInt64 = { i in h.offset < board.laneStride ? laned(h.offset + i, lane) : cells[h.offset + i] }
            var running: UInt64 = 0
            var buckets: [UInt64] = []
            for i in 0 ... h.bounds.count {
                running &+= at(i)
                buckets.append(running)
            }
            return (buckets, at(h.bounds.count + 1), at(h.bounds.count + 2))
        }

        /// Requests counted in `lane`, by route and status (only those seen; a status label is
        /// the code or its class).
        func requests(lane: Int) -> [(route: Route, status: String, count: UInt64)] {
            var out: [(Route, String, UInt64)] = []
            for (r, route) in Route.allCases.enumerated() {
                for s in 0 ..< StatsBoard.statusSpan {
                    let n = laned(board.requestsOffset + r * StatsBoard.statusSpan + s, lane)
                    if n > 0 { out.append((route, StatsBoard.statusLabel(s), n)) }
                }
            }
            return out
        }

        /// The store's statistics across the workers.
        var store: StoreStatistics {
            var s = StoreStatistics()
            s.entries = self[.storeEntries]
            s.keys = self[.storeKeys]
            s.bytes = self[.storeBytes]
            s.hits = self[.storeHits]
            s.misses = self[.storeMisses]
            s.evictions = self[.storeEvictions]
            s.expirations = self[.storeExpirations]
            s.ambiguous = self[.storeAmbiguous]
            s.rejections = self[.storeRejections]
            s.failures = self[.storeFailures]
            s.degraded = self[.storeDegraded] > 0
            return s
        }
    }
}

/// The system's monotonic clock, which every process reads alike.
enum MonotonicClock {
    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
