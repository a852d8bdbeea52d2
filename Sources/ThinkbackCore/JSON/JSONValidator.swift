/// Whole-document validation.
public enum JSONValidator {
    /// Validates `bytes` as one JSON document (whitespace allowed around it). Returns the
    /// kind and span of the top-level value; throws the first syntax error found.
    @discardableResult
    public static func validate(_ bytes: UnsafeRawBufferPointer,
                                maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) -> JSONValueSpan {
        var reader = JSONReader(bytes, maxDepth: maxDepth)
        let value = try reader.skipValue()
        try reader.finish()
        return value
    }

    /// Validates a byte array; see `validate(_:maxDepth:)`.
    @discardableResult
    public static func validate(_ bytes: [UInt8],
                                maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) -> JSONValueSpan {
        try withRawBytes(bytes) { (raw) throws(JSONSyntaxError) in try validate(raw, maxDepth: maxDepth) }
    }

    /// Whether `bytes` is one valid JSON document.
    public static func isValid(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) -> Bool {
        (try? validate(bytes, maxDepth: maxDepth)) != nil
    }
}
