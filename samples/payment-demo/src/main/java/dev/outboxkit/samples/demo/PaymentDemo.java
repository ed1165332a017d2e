package dev.outboxkit.samples.demo;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The payment flow with no setup: {@code ./mvnw -pl samples/payment-demo -am compile
 * spring-boot:run}. Starts embedded PostgreSQL and Kafka (unless {@link DemoStack} finds them
 * configured), the ledger service and the payment service with its relay, prints what to try, and
 * runs until stopped.
 */
public final class PaymentDemo {

  private static final Logger log = LoggerFactory.getLogger(PaymentDemo.class);

  private PaymentDemo() {}

  public static void main(String[] args) throws InterruptedException {
    // OUTBOX_RELAY_ENABLED=false: no relay inside; run the standalone relay jar next to the demo.
    boolean relayInApp = !"false".equalsIgnoreCase(System.getenv("OUTBOX_RELAY_ENABLED"));
    DemoStack stack = DemoStack.start(DemoStack.Settings.fromEnvironment(relayInApp, false));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stack.close();
                  stopped.countDown();
                },
                "payment-demo-stop"));
    String p = stack.paymentUrl();
    String l = stack.ledgerUrl();
    log.info(
        """


        OutboxKit payment demo is running.
          payment service  {}   ({}; {}/actuator/health, /actuator/prometheus)
          ledger service   {}
          Kafka            {}   (topic: payment)
          payment db       {}
          ledger db        {}

        Try it:
          curl -si -X POST {}/payments -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
               -d '{"payer":"alice","merchant":"bookshop","amountMinor":1250,"currency":"EUR"}'
          (send it again: same payment, header Idempotent-Replayed: true, no second event)
          curl -s -X POST {}/payments/<id>/capture -H 'Idempotency-Key: demo-2'
          curl -s {}/accounts/merchant:bookshop:available/balance
          curl -s {}/ledger/summary

        Load this demo (another terminal):
          ./mvnw -pl samples/payment-demo spring-boot:run \\
            -Dspring-boot.run.main-class=dev.outboxkit.samples.demo.LoadGenerator \\
            -Dspring-boot.run.arguments="--payments=1000 --rate=50 --payment-url={} --ledger-url={} --kafka={}"
        (without the three URLs it starts a stack of its own; add --restart-relay to kill -9 a relay half-way)
        Stop with Ctrl+C.
        """,
        p,
        relayInApp ? "relay inside" : "no relay inside: start outbox-relay-app on the payment db",
        p,
        l,
        stack.settings().kafka(),
        stack.settings().paymentDb().url(),
        stack.settings().ledgerDb().url(),
        p,
        p,
        l,
        l,
        p,
        l,
        stack.settings().kafka());
    stopped.await();
  }
}
