package boot

// DefaultInit is the init system `bgrun startup` writes for when none is
// named: none on Windows.
const DefaultInit = ""
