package store

// What the package's external tests read of its internals.
var (
	ReleaseFinishedSQL = releaseFinishedSQL
	HeldStates         = heldStates
)
