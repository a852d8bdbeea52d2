/// A JSON value as the simulator reads and writes it.
///
/// Objects keep their member order and numbers keep their literal spelling, so that what the
/// simulator writes is byte-stable and what it reads can be compared with what it issued.
/// Strings hold the decoded value; compare them byte for byte with ``SimJSON/bytesEqual(_:_:)``,
/// never with `==` on `String` (which uses Unicode canonical equivalence).
public enum SimJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number, as its literal text (`1`, `-0.5e3`).
    case number(String)
    case string(String)
    case array([SimJSON])
    case object([SimJSONMember])
    /// A string as UTF-16 code units, which may hold an unpaired surrogate (RFC 8259 §8.2
    /// lets JSON escape one): how a stream fragment splits a surrogate pair between two
    /// events. Written with every non-ASCII unit escaped; the parser never makes one.
    case codeUnits([UInt16])
}

/// One member of a JSON object, in document order.
public struct SimJSONMember: Equatable, Sendable {
    /// The member name, decoded.
    public var key: String
    /// The member value.
    public var value: SimJSON

    /// A member named `key`.
    public init(_ key: String, _ value: SimJSON) {
        self.key = key
        self.value = value
    }
}

extension SimJSON {
    /// The value of the member `key` (the last one when a key repeats, as most parsers do).
    public subscript(key: String) -> SimJSON? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// The element at `index` of an array.
    public subscript(index: Int) -> SimJSON? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [SimJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, when this is an object.
    public var objectMembers: [SimJSONMember]? {
        if case .object(let m) = self { return m }
        return nil
    }

    /// The boolean, when this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as an `Int`, when it is an integer literal that fits.
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Whether two strings are the same UTF-8 bytes.
    public static func bytesEqual(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }
}

extension SimJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: SimJSON...) { self = .array(elements) }
    /// An object whose members keep the literal's order.
    public init(dictionaryLiteral elements: (String, SimJSON)...) {
        self = .object(elements.map { SimJSONMember($0.0, $0.1) })
    }

    /// A number from an `Int`.
    public static func int(_ value: Int) -> SimJSON { .number(String(value)) }

    /// A string, or `null` when `value` is nil.
    public static func stringOrNull(_ value: String?) -> SimJSON {
        value.map { .string($0) } ?? .null
    }
}
