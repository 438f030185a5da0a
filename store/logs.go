package store

// CloudWatch Logs state: log groups (namespaced by account and region), their
// streams and the events of the streams. Event and stream times are Unix
// milliseconds, the unit of the CloudWatch Logs API; 0 means "none".

// LogGroup is a CloudWatch Logs log group.
type LogGroup struct {
	ID        int64 // assigned by CreateLogGroup
	Account   string
	Region    string
	Name      string
	CreatedAt int64 // ms
	// RetentionDays is how long events are kept; 0 keeps them forever.
	RetentionDays      int
	Class              string // STANDARD, INFREQUENT_ACCESS or DELIVERY
	KMSKeyID           string
	DeletionProtection bool
	Tags               map[string]string
	// StoredBytes is the sum of the sizes of the group's events, kept up to
	// date by the event writes and deletes of LogsTx.
	StoredBytes int64
}

// LogStream is a stream of a log group.
type LogStream struct {
	ID        int64 // assigned by CreateLogStream
	GroupID   int64
	Name      string
	CreatedAt int64 // ms
	// FirstEvent and LastEvent are the smallest and largest event
	// timestamps ever written to the stream, LastIngestion the time of the
	// last write; all 0 while the stream has had no event.
	FirstEvent    int64
	LastEvent     int64
	LastIngestion int64
}

// LogEvent is one event of a stream. ID orders events written at the same
// timestamp and is never reused.
type LogEvent struct {
	ID         int64 // assigned by PutLogEvents
	StreamID   int64
	StreamName string // filled in by ListLogEvents
	Timestamp  int64  // ms
	Ingested   int64  // ms
	Message    string
}

// LogGroupQuery selects log groups of an account and region in name order.
type LogGroupQuery struct {
	Prefix   string // names starting with Prefix
	Contains string // names containing Contains (case-sensitive)
	Class    string // only this class, when set
	Names    []string
	After    string // names greater than After
	Limit    int    // <= 0: no limit
}

// LogStreamOrder is the order of a stream listing.
type LogStreamOrder int

const (
	// ByStreamName orders by name.
	ByStreamName LogStreamOrder = iota
	// ByLastEventTime orders by LastEvent, then name.
	ByLastEventTime
)

// LogStreamQuery selects streams of a group.
type LogStreamQuery struct {
	Prefix     string // ByStreamName only
	Order      LogStreamOrder
	Descending bool
	// After continues a listing after the stream with this position (its
	// name, and for ByLastEventTime its LastEvent); nil starts at the
	// beginning (the end when Descending).
	After *LogStreamCursor
	Limit int // <= 0: no limit
}

// LogStreamCursor is a position in a stream listing.
type LogStreamCursor struct {
	LastEvent int64
	Name      string
}

// LogEventCursor is a position in the (timestamp, ID) order of events.
type LogEventCursor struct {
	Timestamp int64
	ID        int64
}

// LogEventQuery selects events of a group in (timestamp, ID) order.
type LogEventQuery struct {
	GroupID int64
	// StreamIDs limits the events to these streams; nil means every stream
	// of the group. A non-nil empty list selects nothing.
	StreamIDs []int64
	// Start and End bound the timestamps: Start <= ts < End. End 0 means
	// no upper bound.
	Start, End int64
	// After and Before make the bounds strict positions: only events after
	// (or before) the cursor. Either may be nil.
	After, Before *LogEventCursor
	// Descending returns the newest events first.
	Descending bool
	// Contains are substrings every returned message has (case-sensitive).
	Contains []string
	Limit    int // <= 0: no limit
}

// LogsTx reads and writes CloudWatch Logs state.
type LogsTx interface {
	// CreateLogGroup inserts g and sets g.ID (StoredBytes starts at 0).
	// ErrConflict when the account/region/name triple is taken.
	CreateLogGroup(g *LogGroup) error
	GetLogGroup(account, region, name string) (LogGroup, error)
	ListLogGroups(account, region string, q LogGroupQuery) ([]LogGroup, error)
	// UpdateLogGroup rewrites the mutable fields (retention, KMS key,
	// deletion protection, tags) of the group with g.ID.
	UpdateLogGroup(g LogGroup) error
	// DeleteLogGroup removes a group with its streams and events.
	DeleteLogGroup(id int64) error
	// LogGroupsWithRetention returns every group, of any account, that has
	// a retention period.
	LogGroupsWithRetention() ([]LogGroup, error)

	// CreateLogStream inserts s and sets s.ID; ErrConflict when the group
	// has a stream of that name, ErrNotFound when the group is gone.
	CreateLogStream(s *LogStream) error
	GetLogStream(groupID int64, name string) (LogStream, error)
	ListLogStreams(groupID int64, q LogStreamQuery) ([]LogStream, error)
	// LogStreamIDs returns the ids of the named streams of a group that
	// exist, or of those whose name starts with prefix when names is nil.
	LogStreamIDs(groupID int64, names []string, prefix string) ([]int64, error)
	// DeleteLogStream removes a stream and its events, and takes their
	// bytes off the group's StoredBytes.
	DeleteLogStream(id int64) error

	// PutLogEvents appends events to a stream (their IDs are set), moves
	// the stream's first/last event times and last ingestion time and adds
	// the messages' bytes to the group's StoredBytes.
	PutLogEvents(groupID, streamID int64, ingested int64, events []LogEvent) error
	// ListLogEvents returns the events a query selects, with stream names.
	ListLogEvents(q LogEventQuery) ([]LogEvent, error)
	// CountLogEvents returns how many events a query selects, ignoring
	// Limit and Descending, and the total size of their messages in bytes.
	CountLogEvents(q LogEventQuery) (count int, bytes int64, err error)
	// DeleteLogEventsBefore deletes up to limit of a group's events older
	// than cutoff (ms), oldest first, keeping StoredBytes right, and
	// returns how many it deleted.
	DeleteLogEventsBefore(groupID int64, cutoff int64, limit int) (int, error)
}
