// Package notify tells humans about pending and decided approvals and enrolments, without their having
// to poll: an HMAC-signed JSON POST to each configured webhook, and an email to the humans who should act.
//
// It is a best-effort sink of committed audit events. Notify never blocks the request that caused the
// event: it puts the event on a bounded queue (dropping it, counted, when the queue is full), and a
// small pool of workers makes the notice (through the Directory, which resolves names and recipients
// and never reveals a secret value or key), delivers it with retries and backoff, and records each
// delivery's outcome. Failures are logged and counted in the metrics; they never fail a request.
//
// Webhooks dial through the network guard (internal/netguard): private, loopback and metadata
// destinations are refused unless an operator opened them (AllowPrivate).
package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"clavis.dev/clavis"
)

// Directory turns committed audit events into notices and records deliveries (the engine).
type Directory interface {
	// Notice returns the notice of an event, or nil when it notifies nobody.
	Notice(ctx context.Context, ev *clavis.AuditEvent) (*clavis.Notice, error)
	RecordDelivery(ctx context.Context, d *clavis.Delivery) error
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	Webhooks      []*Webhook  // where to POST every notice
	SMTP          *SMTPConfig // nil: no email
	Logger        *slog.Logger
	QueueSize     int           // events waiting for a worker; default 256
	Workers       int           // concurrent deliveries; default 2
	Attempts      int           // tries per delivery; default 5
	Backoff       time.Duration // wait before the second try, doubling after; default 1 s
	Timeout       time.Duration // per try; default 10 s
	DrainDeadline time.Duration // how long Close lets queued notices go out; default 5 s
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.DrainDeadline <= 0 {
		o.DrainDeadline = 5 * time.Second
	}
}

// notified lists the audit actions that make a notice; other events are not even queued.
var notified = map[string]bool{
	"approval.request": true, "approval.approve": true, "approval.reject": true,
	"agent.enroll_request": true, "agent.enroll_approve": true, "agent.enroll_deny": true,
}

// Notifier delivers notices in the background. Create it with New, give it its Directory with Start,
// and Close it on shutdown (before the Directory stops serving).
type Notifier struct {
	opt    Options
	dir    Directory
	queue  chan *clavis.AuditEvent
	ctx    context.Context // cancelled when Close's drain deadline passes
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.RWMutex // guards closed: Notify sends on queue only while it is open
	closed bool

	deliveries *prometheus.CounterVec // channel, outcome
	dropped    prometheus.Counter
}

// New returns a Notifier; it delivers nothing until Start.
func New(opt Options) *Notifier {
	opt.defaults()
	n := &Notifier{opt: opt, queue: make(chan *clavis.AuditEvent, opt.QueueSize)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clavis_notifications_total",
		Help: "Notification deliveries by channel (webhook, email) and outcome (delivered, failed, refused)."},
		[]string{"channel", "outcome"})
	n.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "clavis_notifications_dropped_total",
		Help: "Notifications dropped because the queue was full or the notice could not be made."})
	return n
}

// Collectors are the Notifier's metrics, for the server's registry.
func (n *Notifier) Collectors() []prometheus.Collector {
	return []prometheus.Collector{n.deliveries, n.dropped}
}

// Enabled reports whether any channel is configured.
func (n *Notifier) Enabled() bool { return len(n.opt.Webhooks) > 0 || n.opt.SMTP != nil }

// Start starts the workers, which make notices with dir.
func (n *Notifier) Start(dir Directory) {
	n.dir = dir
	for range n.opt.Workers {
		n.wg.Add(1)
		go n.work()
	}
}

// Notify queues a committed audit event if it notifies anyone; it never blocks.
func (n *Notifier) Notify(ev *clavis.AuditEvent) {
	if !notified[ev.Action] || !n.Enabled() {
		return
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return
	}
	select {
	case n.queue <- ev:
	default:
		n.dropped.Inc()
		n.opt.Logger.Warn("notification queue full: notice dropped", "event_id", ev.ID, "action", ev.Action)
	}
}

// Close stops taking events (Notify then drops them), lets the queued ones go out for at most the drain
// deadline, then cancels what is still in flight and waits for the workers. Closing twice is harmless.
func (n *Notifier) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	close(n.queue)
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(n.opt.DrainDeadline):
		n.cancel()
		<-done
	}
	n.cancel()
}

func (n *Notifier) work() {
	defer n.wg.Done()
	for ev := range n.queue {
		if n.ctx.Err() != nil {
			n.dropped.Inc()
			continue
		}
		n.deliver(ev)
	}
}

// deliver makes the event's notice and sends it on every channel.
func (n *Notifier) deliver(ev *clavis.AuditEvent) {
	notice, err := n.dir.Notice(n.ctx, ev)
	if err != nil {
		n.dropped.Inc()
		n.opt.Logger.Warn("notification: cannot make the notice", "event_id", ev.ID, "err", err)
		return
	}
	if notice == nil {
		return
	}
	for _, h := range n.opt.Webhooks {
		n.try("webhook", notice, h.Target(), func(ctx context.Context) error { return h.post(ctx, notice) })
	}
	if n.opt.SMTP != nil && len(notice.Recipients) > 0 {
		msg := message(n.opt.SMTP.From, notice)
		n.try("email", notice, joinAddrs(notice.Recipients), func(ctx context.Context) error {
			return n.opt.SMTP.send(ctx, notice.Recipients, msg)
		})
	}
}

// permanent marks a failure that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// try runs send up to Attempts times with doubling backoff, then records and counts the outcome.
func (n *Notifier) try(channel string, notice *clavis.Notice, target string, send func(context.Context) error) {
	var err error
	attempts := 0
	wait := n.opt.Backoff
	for attempts < n.opt.Attempts {
		attempts++
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.Timeout)
		err = send(ctx)
		cancel()
		var p permanent
		if err == nil || errors.As(err, &p) || n.ctx.Err() != nil || attempts == n.opt.Attempts {
			break
		}
		select {
		case <-time.After(wait):
		case <-n.ctx.Done():
		}
		wait *= 2
	}
	outcome, status, msg := "delivered", "delivered", ""
	if err != nil {
		outcome, status, msg = "failed", "failed", err.Error()
		if refused(err) {
			outcome = "refused"
		}
		n.opt.Logger.Warn("notification not delivered", "channel", channel, "target", target, "notice", notice.ID,
			"type", notice.Type, "attempts", attempts, "err", err)
	}
	n.deliveries.WithLabelValues(channel, outcome).Inc()
	d := &clavis.Delivery{ID: newID(), NoticeID: notice.ID, Channel: channel, Target: target, Status: status,
		Attempts: attempts, Error: msg, CreatedAt: clavis.Now()}
	if err := n.dir.RecordDelivery(context.WithoutCancel(n.ctx), d); err != nil {
		n.opt.Logger.Warn("notification delivery not recorded", "notice", notice.ID, "err", err)
	}
}
