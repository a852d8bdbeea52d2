public enum ThinkbackVersion { public static let string = "0.1.0" }
