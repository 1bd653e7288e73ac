// @generated automatically by Diesel CLI.

diesel::table! {
    analytics_rollups (span, dimension, date, bucket) {
        span -> Text,
        dimension -> Text,
        date -> Date,
        bucket -> Text,
        trades -> BigInt,
        wins -> BigInt,
        losses -> BigInt,
        pnl -> Double,
        win_pnl -> Double,
        loss_pnl -> Double,
        r_sum -> Double,
        hold_secs -> BigInt,
        win_first -> BigInt,
        win_last -> BigInt,
        win_max -> BigInt,
        loss_first -> BigInt,
        loss_last -> BigInt,
        loss_max -> BigInt,
        r_min -> Double,
        r_max -> Double,
    }
}

diesel::table! {
    candles (symbol, timeframe, open_time) {
        symbol -> Text,
        timeframe -> Text,
        open_time -> Timestamp,
        open -> Double,
        high -> Double,
        low -> Double,
        close -> Double,
        volume -> Double,
    }
}

diesel::table! {
    daily_stats (id) {
        id -> Integer,
        date -> Date,
        scan_count -> Integer,
        signals_generated -> Integer,
        trades_closed -> Integer,
        wins -> Integer,
        losses -> Integer,
        starting_balance -> Double,
        paper_balance -> Double,
        realized_pnl -> Double,
        total_pnl -> Double,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    derived_tables (name) {
        name -> Text,
        rebuilt_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> Integer,
        kind -> Text,
        signal_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    instances (id) {
        id -> Text,
        hostname -> Text,
        pid -> Integer,
        started_at -> Timestamp,
        heartbeat_at -> Timestamp,
        is_leader -> Bool,
        last_tick_at -> Nullable<Timestamp>,
        last_tick_ms -> Nullable<Double>,
        last_ok_at -> Nullable<Timestamp>,
        tick_error -> Nullable<Text>,
        ticks -> BigInt,
        failed_ticks -> BigInt,
        feed_source -> Text,
        feed_status -> Text,
        feed_error -> Nullable<Text>,
        feed_updated_at -> Nullable<Timestamp>,
        booking_failures -> Text,
        booking_failures_total -> BigInt,
        scanned_at -> Nullable<Timestamp>,
        scans -> BigInt,
        failed_scans -> BigInt,
        scan_error -> Nullable<Text>,
        scan_results -> Text,
    }
}

diesel::table! {
    journal_entries (id) {
        id -> Integer,
        signal_id -> Integer,
        symbol -> Text,
        direction -> Text,
        entry_price -> Double,
        exit_price -> Double,
        quantity -> Double,
        pnl -> Double,
        pnl_pct -> Double,
        r_multiple -> Double,
        outcome -> Text,
        exit_reason -> Text,
        opened_at -> Timestamp,
        closed_at -> Timestamp,
        duration_secs -> BigInt,
        balance_after -> Double,
        notes -> Nullable<Text>,
        tags -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        exit_count -> Integer,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        epoch -> BigInt,
        acquired_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    quotes (symbol) {
        symbol -> Text,
        price -> Double,
        high_24h -> Nullable<Double>,
        low_24h -> Nullable<Double>,
        change_24h_pct -> Nullable<Double>,
        volume_24h -> Nullable<Double>,
        price_time -> Timestamp,
        market_time -> Timestamp,
        pending_price -> Nullable<Double>,
        pending_time -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    secrets (name) {
        name -> Text,
        value -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_fingerprint -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    signals (id) {
        id -> Integer,
        symbol -> Text,
        direction -> Text,
        status -> Text,
        entry_price -> Double,
        stop_loss -> Double,
        take_profit -> Double,
        quantity -> Double,
        risk_amount -> Double,
        confidence -> Double,
        strategy -> Text,
        timeframe -> Nullable<Text>,
        external_id -> Nullable<Text>,
        reasons -> Text,
        notes -> Nullable<Text>,
        current_price -> Double,
        unrealized_pnl -> Double,
        max_favorable_price -> Double,
        max_adverse_price -> Double,
        exit_price -> Nullable<Double>,
        exit_reason -> Nullable<Text>,
        pnl -> Nullable<Double>,
        fees -> Double,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        initial_stop_loss -> Double,
        remaining_quantity -> Double,
        realized_pnl -> Double,
        take_profits -> Text,
        breakeven_at_r -> Nullable<Double>,
        trailing_stop_pct -> Nullable<Double>,
        trailing_activate_at_r -> Double,
        targets_hit -> Integer,
        stop_moved_by -> Nullable<Text>,
        entry_fee -> Double,
    }
}

diesel::table! {
    stop_moves (id) {
        id -> Integer,
        signal_id -> Integer,
        old_stop -> Double,
        new_stop -> Double,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    trade_exits (id) {
        id -> Integer,
        signal_id -> Integer,
        reason -> Text,
        price -> Double,
        quantity -> Double,
        fee -> Double,
        pnl -> Double,
        balance_after -> Double,
        created_at -> Timestamp,
    }
}

diesel::joinable!(journal_entries -> signals (signal_id));
diesel::joinable!(stop_moves -> signals (signal_id));
diesel::joinable!(trade_exits -> signals (signal_id));

diesel::table! {
    notifications (id) {
        id -> Integer,
        target -> Text,
        event -> Text,
        dedupe_key -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    analytics_rollups,
    candles,
    daily_stats,
    derived_tables,
    events,
    instances,
    journal_entries,
    leases,
    notifications,
    quotes,
    secrets,
    sessions,
    signals,
    stop_moves,
    trade_exits,
);
