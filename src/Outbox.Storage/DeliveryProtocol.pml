/*
 * The delivery protocol of OutboxStore and the Dispatcher, as a Promela model for Spin
 * (build/verify-model.sh runs it; docs/delivery-record.md explains the record it checks).
 *
 * Each inline below is one statement of OutboxStore, named as the store names it, and does what
 * that statement does to the rows, atomically, or nothing when the database fails it.
 * DeliveryProtocolModelTests fails when a name here is no statement of the store, or a statement
 * of the store is missing here.
 *
 * statements: Claim RecordLostAttempts ResendTakenOver HoldTakenOver Expire MarkDataStarting ExtendLease MarkSent MarkRetry MarkFailed MarkUnconfirmed Release
 * parts of the statements above (the attempt row and recipients of an outcome): InsertAttempt AcceptOwed RefuseRecipient UnconfirmOwed
 * reads, which change nothing: Read RecipientsOf AttachmentsOf RawPartsOf Pauses
 *
 * Faults, each one at any step where it can strike: kill -9 (all workers but one), a pause past
 * the lease (a live worker's lease runs out), SIGTERM between mails, a failed database write, a
 * database write whose reply is lost (the mark, the sent record), a 421 at the greeting, a 4xx
 * or 5xx, a connection dropped mid-data, a reply lost after the data.
 *
 * Abstracted away, and why that is safe:
 * - Time: a lease is valid or not (leaseOk). Expiry may happen at any moment to a row whose
 *   worker died, and, a bounded number of times, to a row whose worker lives (it was paused, the
 *   clock stepped): every interleaving of expiry with the workers' steps is explored.
 * - A mail's expires_at may have passed at any claim, any mark and any retry (each statement
 *   checks it on the database clock and may record the mail expired), so every interleaving of
 *   a mail's expiry with its batch is explored too.
 * - A mail has one recipient and no parts: recipient accounting is per mail here. A batch is at
 *   most every mail. Retry delays are zero (a retried mail is due at once), so no waiting is
 *   missed. MaxAttempts is not modelled: the number of faults is bounded instead.
 * - The mark is written before the SMTP transaction begins; the model lets a worker die between
 *   the two, so the conservative side of that window is explored too.
 *
 * Built with -DHOLD for LostReplyPolicy Hold (default Resend). The mutants take one fix out each,
 * for build/verify-model.sh to show Spin finds the counterexample: -DNO_MARK (no per-mail mark:
 * every take-over is recorded unconfirmed), -DNO_LEASE_CHECK (the mark does not check the lease),
 * -DLOSE_TAKEOVER (a take-over is recorded at the mail's turn, and a hand-back erases it).
 */

#define W 2          /* workers */
#define M 2          /* mails */
#define FAULTS 2     /* faults that may happen in one run, of all kinds: a paused worker, a failed database write, a server fault */

mtype = { QUEUED, SENDING, SENT, FAILED, UNCONFIRMED, EXPIRED };

/* The rows of outbox_message. */
mtype status[M];
byte owner[M];        /* lease_owner: 0 none, else worker + 1 */
bool leaseOk[M];      /* due_at > now, while 'sending' */
bool mark[M];         /* data_started_at is not null */
byte takenFrom[M];    /* taken_over_from */

/* What really happened, for the properties. */
byte delivered[M];    /* copies the server has */
byte explained[M];    /* 'unconfirmed' attempt rows */
bool marked[M];       /* some worker wrote the mark of the current attempt */

bool working[M];      /* the owner's lane has the mail in its batch (its heartbeat renews it) */
bool dead[W];
byte crashes, faults;

#define mine(m, w) (status[m] == SENDING && owner[m] == w + 1)
#define final(m) (status[m] == SENT || status[m] == FAILED || status[m] == UNCONFIRMED || status[m] == EXPIRED)

/* The database may fail any write (a bounded number of times): it then changes nothing. */
#define DBFAIL faults < FAULTS -> faults++

inline Claim(w, i) {   /* fills the calling worker's batch */
    atomic {
        if
        :: DBFAIL -> skip
        :: true ->
            i = 0;
            do
            :: i < M ->
                if
                :: status[i] == QUEUED || (status[i] == SENDING && !leaseOk[i]) ->
                    takenFrom[i] = (status[i] == SENDING -> owner[i] : 0);
                    if
                    :: takenFrom[i] != 0 -> printf("worker %d: Claim mail %d, taking it over from worker %d\n", w, i, takenFrom[i] - 1)
                    :: else -> printf("worker %d: Claim mail %d\n", w, i)
                    fi;
#ifndef LOSE_TAKEOVER
                    if
                    :: takenFrom[i] != 0 -> RecordLostAttempts(i)
                    :: else -> skip
                    fi;
#endif
                    /* The mail's expires_at may have passed by any claim (the claim reports it). */
                    if
                    :: status[i] != UNCONFIRMED -> Expire(i)
                    :: status[i] != UNCONFIRMED ->
                        status[i] = SENDING; owner[i] = w + 1; leaseOk[i] = true; batch[i] = true; working[i] = true
                    :: else -> skip
                    fi
                :: else -> skip
                fi;
                i++
            :: else -> break
            od
        fi
    }
}

/* In the claim's transaction: the dead worker's attempt, then Resend or Hold. */
inline RecordLostAttempts(i) {
    if
#ifdef NO_MARK
    :: true ->
#else
    :: mark[i] ->
#endif
        assert(marked[i]);   /* recorded unconfirmed only where the worker had begun sending */
        printf("  RecordLostAttempts: mail %d unconfirmed, naming worker %d\n", i, takenFrom[i] - 1);
        explained[i]++;
#ifdef HOLD
        HoldTakenOver(i)
#else
        ResendTakenOver(i)
#endif
    :: else -> skip
    fi
}

inline ResendTakenOver(i) { mark[i] = false; marked[i] = false }

inline HoldTakenOver(i) { status[i] = UNCONFIRMED; owner[i] = 0; mark[i] = false; marked[i] = false }

/* In the claim's transaction, after the take-over's attempt: expired, never sent by this claim. */
inline Expire(i) { status[i] = EXPIRED; owner[i] = 0; mark[i] = false; marked[i] = false; printf("  Expire: mail %d expired\n", i) }

/* Before the mail's SMTP transaction: the mark, if the lease still holds; or, in the same
   statement, 'expired' when the mail's expires_at passed while it waited in the batch. */
inline MarkDataStarting(m, w, ok, expired) {
    atomic {
        expired = false;
        if
        :: DBFAIL -> ok = false
        :: mine(m, w) && leaseOk[m] -> status[m] = EXPIRED; owner[m] = 0; ok = false; expired = true; printf("worker %d: MarkDataStarting mail %d: expired in the batch\n", w, m)
        :: faults < FAULTS && mine(m, w) && leaseOk[m] -> faults++; mark[m] = true; marked[m] = true; ok = false   /* written, but its reply lost */
#ifdef NO_LEASE_CHECK
        :: true -> mark[m] = true; marked[m] = true; ok = true; printf("worker %d: MarkDataStarting mail %d (no lease check)\n", w, m)
#else
        :: mine(m, w) && leaseOk[m] -> mark[m] = true; marked[m] = true; ok = true; printf("worker %d: MarkDataStarting mail %d\n", w, m)
        :: !(mine(m, w) && leaseOk[m]) -> ok = false
#endif
        fi
    }
}

inline ExtendLease(w, renewed, i) {
    atomic {
        if
        :: DBFAIL -> skip
        :: true ->
            i = 0;
            do
            :: i < M ->
                if
                :: mine(i, w) -> leaseOk[i] = true
                :: else -> skip
                fi;
                i++
            :: else -> break
            od;
            renewed = true
        fi
    }
}

inline MarkSent(m, w, ok) {
    atomic {
        if
        :: DBFAIL -> ok = false
        :: faults < FAULTS && mine(m, w) -> faults++; status[m] = SENT; owner[m] = 0; mark[m] = false; marked[m] = false; ok = false   /* written, but its reply lost */
        :: true ->
            if
            :: mine(m, w) -> status[m] = SENT; owner[m] = 0; mark[m] = false; marked[m] = false; printf("worker %d: MarkSent mail %d\n", w, m)
            :: else -> skip
            fi;
            ok = true
        fi
    }
}

/* A retry after a failure; after a lost reply (Resend) its attempt row is 'unconfirmed'. */
inline MarkRetry(m, w, lost) {
    atomic {
        if
        :: DBFAIL -> skip
        :: mine(m, w) ->
            if
            :: lost -> explained[m]++
            :: else -> skip
            fi;
            /* A next try at or after the mail's expires_at: the same statement records it expired. */
            if
            :: status[m] = QUEUED; printf("worker %d: MarkRetry mail %d\n", w, m)
            :: status[m] = EXPIRED; printf("worker %d: MarkRetry mail %d: expired before its next try\n", w, m)
            fi;
            owner[m] = 0; mark[m] = false; marked[m] = false
        :: !mine(m, w) -> skip
        fi
    }
}

inline MarkFailed(m, w) {
    atomic {
        if
        :: DBFAIL -> skip
        :: mine(m, w) -> status[m] = FAILED; owner[m] = 0; mark[m] = false; marked[m] = false
        :: !mine(m, w) -> skip
        fi
    }
}

inline MarkUnconfirmed(m, w) {
    atomic {
        if
        :: DBFAIL -> skip
        :: mine(m, w) -> explained[m]++; status[m] = UNCONFIRMED; owner[m] = 0; mark[m] = false; marked[m] = false
        :: !mine(m, w) -> skip
        fi
    }
}

/* A hand-back: the mail's data never reached the server whole. */
inline Release(m, w) {
    atomic {
        if
        :: DBFAIL -> skip
        :: mine(m, w) ->
            status[m] = QUEUED; owner[m] = 0; mark[m] = false; marked[m] = false; printf("worker %d: Release mail %d\n", w, m);
#ifdef LOSE_TAKEOVER
            takenFrom[m] = 0
#else
            skip
#endif
        :: !mine(m, w) -> skip
        fi
    }
}

/* kill -9 at any step (all workers but one, at most): the worker does nothing more. */
#define CRASH atomic { crashes < W - 1 -> crashes++; dead[w] = true; printf("worker %d: killed\n", w) }; goto stopped

proctype Worker(byte w) {
    bool batch[M];
    byte m, i;
    bool ok, renewed, unwritten, lost, sessionOpen, expired;
    byte kept;

    do
    :: CRASH
    /* A sent mail whose outcome the database did not take is written before anything else. */
    :: unwritten ->
        MarkSent(kept, w, ok);
        if
        :: ok -> unwritten = false
        :: else -> skip
        fi
    :: !unwritten ->
        /* Back to claiming: nothing of the last batch is renewed any more. */
        atomic {
            i = 0;
            do
            :: i < M -> if :: owner[i] == w + 1 -> working[i] = false :: else -> skip fi; i++
            :: else -> i = 0; break
            od
        }
        Claim(w, i);
        sessionOpen = false;
        m = 0;
        do
        :: m >= M -> break
        :: m < M && !batch[m] -> m++
        :: m < M && batch[m] ->
            batch[m] = false;
            if
            :: CRASH
            :: ExtendLease(w, renewed, i)
            :: skip
            fi;
#ifdef LOSE_TAKEOVER
            /* The old way: the take-over recorded only when the mail's turn came. */
            if
            :: takenFrom[m] != 0 && mine(m, w) -> atomic { RecordLostAttempts(m) }
            :: else -> skip
            fi;
#endif
            if
            :: !mine(m, w) -> m++; goto next   /* held by the claim, or not ours any more */
            :: else -> skip
            fi;
            /* SIGTERM between mails: the untried rest goes back, what was sent is written if it
               can be, the worker exits and its service manager starts it again (same name
               here; what it kept in memory is gone). */
            if
            :: atomic { faults < FAULTS -> faults++ } ->
                i = m;
                do
                :: i < M -> if :: batch[i] || i == m -> Release(i, w) :: else -> skip fi; batch[i] = false; i++
                :: else -> break
                od;
                if
                :: unwritten -> MarkSent(kept, w, ok)
                :: else -> skip
                fi;
                unwritten = false; kept = 0; ok = false; break
            :: true -> skip
            fi;
            /* Opening a session may fail (421 at the greeting): the batch goes back untried. */
            if
            :: atomic { !sessionOpen && faults < FAULTS -> faults++; printf("  server: 421 at the greeting\n") };
                i = m;
                do
                :: i < M -> if :: batch[i] || i == m -> Release(i, w) :: else -> skip fi; batch[i] = false; i++
                :: else -> break
                od;
                break
            :: true -> sessionOpen = true
            fi;
            MarkDataStarting(m, w, ok, expired);
            if
            :: expired -> m++; goto next   /* recorded expired, never sent: the batch goes on */
            :: !ok && !expired ->
                /* The lease is gone or the database failed the mark: nothing of the mail was
                   sent; what is still ours goes back and the lane stops. */
                i = m;
                do
                :: i < M -> if :: batch[i] || i == m -> Release(i, w) :: else -> skip fi; batch[i] = false; i++
                :: else -> break
                od;
                break
            :: else -> skip
            fi;
            if
            :: CRASH                     /* between the mark and the first byte of data */
            :: skip
            fi;
            /* The server. */
            if
            :: atomic { delivered[m]++; lost = false; printf("  server: mail %d delivered (copy %d), 250\n", m, delivered[m]) }
            :: faults < FAULTS -> atomic { faults++; delivered[m]++; lost = true; printf("  server: mail %d delivered (copy %d), its reply lost\n", m, delivered[m]) }
            :: atomic { faults < FAULTS -> faults++ }; MarkRetry(m, w, false); m++; goto next /* 4xx, or dropped mid-data */
            :: atomic { faults < FAULTS -> faults++ }; MarkFailed(m, w); m++; goto next       /* 5xx */
            fi;
            if
            :: CRASH
            :: skip
            fi;
            if
            :: lost ->
#ifdef HOLD
                MarkUnconfirmed(m, w)
#else
                MarkRetry(m, w, true)
#endif
            :: !lost ->
                MarkSent(m, w, ok);
                if
                :: !ok ->
                    /* Kept for the next pass; the lane stops. */
                    unwritten = true; kept = m;
                    i = m + 1;
                    do
                    :: i < M -> if :: batch[i] -> Release(i, w) :: else -> skip fi; batch[i] = false; i++
                    :: else -> break
                    od;
                    break
                :: else -> skip
                fi
            fi;
            m++;
next:       skip
        od
    :: !unwritten && (final(0) && final(1)) -> break
    od;
stopped: skip
}

/* Time: a lease nobody renews always runs out (its worker died, or its lane went back to
   claiming without handing the mail back: the database failed the hand-back); a lease that is
   being renewed runs out only a bounded number of times (the worker was paused past it, or the
   clock stepped forward). */
#define EXPIRE(m) status[m] == SENDING && leaseOk[m] && (dead[owner[m] - 1] || !working[m] || faults < FAULTS) -> \
    if :: !dead[owner[m] - 1] && working[m] -> faults++ :: else -> skip fi; leaseOk[m] = false; \
    printf("  clock: the lease of mail %d runs out\n", m)

active proctype Clock() {
    do
    :: atomic { EXPIRE(0) }
    :: atomic { EXPIRE(1) }
    :: final(0) && final(1) -> break
    od
}

init {
    byte m;
    for (m : 0 .. M - 1) { status[m] = QUEUED }
    atomic { run Worker(0); run Worker(1) }
}

/* Every copy beyond the first is explained by an 'unconfirmed' attempt; under Hold, one copy. */
#ifdef HOLD
#define once(m) (delivered[m] <= 1)
#else
#define once(m) (delivered[m] <= 1 + explained[m])
#endif

active proctype Invariant() {
end: atomic { !(once(0) && once(1)) -> assert(once(0) && once(1)) }
}

/* With faults bounded, every mail ends sent, failed, unconfirmed or expired, and nothing stays sending. */
ltl ends { <> [] (final(0) && final(1)) }
