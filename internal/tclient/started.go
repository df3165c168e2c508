package tclient

import (
	"context"
	"sync/atomic"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// StartProbe learns whether a Signal-with-Start made through a client from
// Dial started the workflow or signalled one already running: the server
// says so in its answer (SignalWithStartWorkflowExecutionResponse.Started),
// which the SDK's SignalWithStartWorkflow does not return. Intake uses it to
// answer new or duplicate without waiting for a worker (docs/intake.md).
type StartProbe struct {
	answered atomic.Bool
	started  atomic.Bool
}

type probeKey struct{}

// WithStartProbe returns ctx carrying a fresh probe for one call.
func WithStartProbe(ctx context.Context) (context.Context, *StartProbe) {
	p := &StartProbe{}
	return context.WithValue(ctx, probeKey{}, p), p
}

// Started reports what the server answered; ok is false when no answer
// reached the probe (a client not made by Dial, or the call failed).
func (p *StartProbe) Started() (started, ok bool) {
	return p.started.Load(), p.answered.Load()
}

// probeInterceptor fills the StartProbe of a Signal-with-Start's context.
func probeInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		return err
	}
	if r, ok := reply.(*workflowservice.SignalWithStartWorkflowExecutionResponse); ok {
		if p, ok := ctx.Value(probeKey{}).(*StartProbe); ok {
			p.started.Store(r.GetStarted())
			p.answered.Store(true)
		}
	}
	return nil
}
