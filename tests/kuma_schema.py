"""Uptime Kuma's own definitions of the tables its importer reads, for tests that build a
Kuma database: as a SQLite database made by Kuma 1.23.16 (its db/kuma.db template, then
db/patch*.sql in the order server/database.js applies them) and by Kuma 2.5.3 (the same,
then every db/knex_migrations file) stores them in sqlite_master, with only the whitespace
changed: one column a line. tag, monitor_tag, notification and monitor_notification are the
same in both versions; the monitor table gained columns (and knex rewrote its definition).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MONITOR_1_23 = """
CREATE TABLE "monitor" (
    id INTEGER not null primary key autoincrement,
    name VARCHAR(150),
    active BOOLEAN default 1 not null,
    user_id INTEGER references user on update cascade on delete set null,
    interval INTEGER default 20 not null,
    url TEXT,
    type VARCHAR(20),
    weight INTEGER default 2000,
    hostname VARCHAR(255),
    port INTEGER,
    created_date DATETIME default (DATETIME('now')) not null,
    keyword VARCHAR(255),
    maxretries INTEGER NOT NULL DEFAULT 0,
    ignore_tls BOOLEAN default 0 not null,
    upside_down BOOLEAN default 0 not null,
    maxredirects INTEGER default 10 not null,
    accepted_statuscodes_json TEXT default '["200-299"]' not null,
    dns_resolve_type VARCHAR(5),
    dns_resolve_server VARCHAR(255),
    dns_last_result VARCHAR(255),
    retry_interval INTEGER default 0 not null,
    push_token VARCHAR(20) DEFAULT NULL,
    method TEXT default 'GET' not null,
    body TEXT default null,
    headers TEXT default null,
    basic_auth_user TEXT default null,
    basic_auth_pass TEXT default null,
    docker_host INTEGER REFERENCES docker_host(id),
    docker_container VARCHAR(255),
    proxy_id INTEGER REFERENCES proxy(id),
    expiry_notification BOOLEAN default 1,
    mqtt_topic TEXT,
    mqtt_success_message VARCHAR(255),
    mqtt_username VARCHAR(255),
    mqtt_password VARCHAR(255),
    database_connection_string VARCHAR(2000),
    database_query TEXT,
    auth_method VARCHAR(250),
    auth_domain TEXT,
    auth_workstation TEXT,
    grpc_url VARCHAR(255) default null,
    grpc_protobuf TEXT default null,
    grpc_body TEXT default null,
    grpc_metadata TEXT default null,
    grpc_method VARCHAR(255) default null,
    grpc_service_name VARCHAR(255) default null,
    grpc_enable_tls BOOLEAN default 0 not null,
    radius_username VARCHAR(255),
    radius_password VARCHAR(255),
    radius_calling_station_id VARCHAR(50),
    radius_called_station_id VARCHAR(50),
    radius_secret VARCHAR(255),
    resend_interval INTEGER default 0 not null,
    packet_size INTEGER DEFAULT 56 NOT NULL,
    game VARCHAR(255),
    http_body_encoding VARCHAR(25),
    description TEXT default null,
    tls_ca TEXT default null,
    tls_cert TEXT default null,
    tls_key TEXT default null,
    parent INTEGER REFERENCES [monitor] ([id]) ON DELETE SET NULL ON UPDATE CASCADE,
    invert_keyword BOOLEAN default 0 not null,
    json_path TEXT,
    expected_value VARCHAR(255),
    kafka_producer_topic VARCHAR(255),
    kafka_producer_brokers TEXT,
    kafka_producer_sasl_options TEXT,
    kafka_producer_message TEXT,
    oauth_client_id TEXT default null,
    oauth_client_secret TEXT default null,
    oauth_token_url TEXT default null,
    oauth_scopes TEXT default null,
    oauth_auth_method TEXT default null,
    timeout DOUBLE default 0 not null,
    gamedig_given_port_only BOOLEAN default 1 not null,
    kafka_producer_ssl BOOLEAN default 0 NOT NULL,
    kafka_producer_allow_auto_topic_creation BOOLEAN default 0 NOT NULL
)
"""

MONITOR_2 = """
CREATE TABLE "monitor" (
    `id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    `name` VARCHAR(150),
    `active` BOOLEAN NOT NULL DEFAULT 1,
    `user_id` INTEGER REFERENCES `user` ON DELETE SET NULL ON UPDATE CASCADE,
    `interval` INTEGER NOT NULL DEFAULT 20,
    `url` TEXT,
    `type` VARCHAR(20),
    `weight` INTEGER DEFAULT 2000,
    `hostname` VARCHAR(255),
    `port` INTEGER,
    `created_date` DATETIME NOT NULL DEFAULT (DATETIME('now')),
    `keyword` VARCHAR(255),
    `maxretries` INTEGER NOT NULL DEFAULT 0,
    `ignore_tls` BOOLEAN NOT NULL DEFAULT 0,
    `upside_down` BOOLEAN NOT NULL DEFAULT 0,
    `maxredirects` INTEGER NOT NULL DEFAULT 10,
    `accepted_statuscodes_json` TEXT NOT NULL DEFAULT '["200-299"]',
    `dns_resolve_type` VARCHAR(5),
    `dns_resolve_server` VARCHAR(255),
    `dns_last_result` text,
    `retry_interval` INTEGER NOT NULL DEFAULT 0,
    `push_token` varchar(32),
    `method` TEXT NOT NULL DEFAULT 'GET',
    `body` TEXT DEFAULT null,
    `headers` TEXT DEFAULT null,
    `basic_auth_user` TEXT DEFAULT null,
    `basic_auth_pass` TEXT DEFAULT null,
    `docker_host` INTEGER REFERENCES `docker_host` (`id`),
    `docker_container` VARCHAR(255),
    `proxy_id` INTEGER REFERENCES `proxy` (`id`),
    `expiry_notification` BOOLEAN DEFAULT 1,
    `mqtt_topic` TEXT,
    `mqtt_success_message` VARCHAR(255),
    `mqtt_username` VARCHAR(255),
    `mqtt_password` VARCHAR(255),
    `database_connection_string` VARCHAR(2000),
    `database_query` TEXT,
    `auth_method` VARCHAR(250),
    `auth_domain` TEXT,
    `auth_workstation` TEXT,
    `grpc_url` VARCHAR(255) DEFAULT null,
    `grpc_protobuf` TEXT DEFAULT null,
    `grpc_body` TEXT DEFAULT null,
    `grpc_metadata` TEXT DEFAULT null,
    `grpc_method` VARCHAR(255) DEFAULT null,
    `grpc_service_name` VARCHAR(255) DEFAULT null,
    `grpc_enable_tls` BOOLEAN NOT NULL DEFAULT 0,
    `radius_username` VARCHAR(255),
    `radius_password` VARCHAR(255),
    `radius_calling_station_id` VARCHAR(50),
    `radius_called_station_id` VARCHAR(50),
    `radius_secret` VARCHAR(255),
    `resend_interval` INTEGER NOT NULL DEFAULT 0,
    `packet_size` INTEGER NOT NULL DEFAULT 56,
    `game` VARCHAR(255),
    `http_body_encoding` VARCHAR(25),
    `description` TEXT DEFAULT null,
    `tls_ca` TEXT DEFAULT null,
    `tls_cert` TEXT DEFAULT null,
    `tls_key` TEXT DEFAULT null,
    `parent` INTEGER REFERENCES `monitor` (`id`) ON DELETE SET NULL ON UPDATE CASCADE,
    `invert_keyword` BOOLEAN NOT NULL DEFAULT 0,
    `json_path` TEXT,
    `expected_value` VARCHAR(255),
    `kafka_producer_topic` VARCHAR(255),
    `kafka_producer_brokers` TEXT,
    `kafka_producer_sasl_options` TEXT,
    `kafka_producer_message` TEXT,
    `oauth_client_id` TEXT DEFAULT null,
    `oauth_client_secret` TEXT DEFAULT null,
    `oauth_token_url` TEXT DEFAULT null,
    `oauth_scopes` TEXT DEFAULT null,
    `oauth_auth_method` TEXT DEFAULT null,
    `timeout` DOUBLE NOT NULL DEFAULT 0,
    `gamedig_given_port_only` BOOLEAN NOT NULL DEFAULT 1,
    `kafka_producer_ssl` BOOLEAN NOT NULL DEFAULT 0,
    `kafka_producer_allow_auto_topic_creation` BOOLEAN NOT NULL DEFAULT 0,
    `mqtt_check_type` varchar(255) NOT NULL DEFAULT 'keyword',
    `remote_browser` integer NULL DEFAULT null,
    `snmp_oid` varchar(255) DEFAULT null,
    `snmp_version` text CHECK (`snmp_version` in('1' , '2c' , '3')) DEFAULT '2c',
    `json_path_operator` varchar(255) DEFAULT null,
    `cache_bust` boolean NOT NULL DEFAULT '0',
    `conditions` text NOT NULL DEFAULT '[]',
    `rabbitmq_nodes` text,
    `rabbitmq_username` varchar(255),
    `rabbitmq_password` varchar(255),
    `smtp_security` varchar(255) DEFAULT null,
    `ws_ignore_sec_websocket_accept_header` boolean NOT NULL DEFAULT '0',
    `ws_subprotocol` varchar(255) NOT NULL DEFAULT '',
    `ping_count` integer NOT NULL DEFAULT '1',
    `ping_numeric` boolean NOT NULL DEFAULT '1',
    `ping_per_request_timeout` integer NOT NULL DEFAULT '2',
    `ip_family` varchar(4) DEFAULT null,
    `manual_status` integer,
    `oauth_audience` varchar(255) NULL DEFAULT null,
    `mqtt_websocket_path` varchar(255) NULL,
    `domain_expiry_notification` boolean DEFAULT '0',
    `save_response` boolean NOT NULL DEFAULT '0',
    `save_error_response` boolean NOT NULL DEFAULT '1',
    `response_max_length` integer NOT NULL DEFAULT '1024',
    `system_service_name` varchar(255),
    `subtype` varchar(10) NULL,
    `location` varchar(255) NULL,
    `protocol` varchar(20) NULL,
    `snmp_v3_username` varchar(255),
    `expected_tls_alert` varchar(50) DEFAULT null,
    `retry_only_on_status_code_failure` boolean NOT NULL DEFAULT '0',
    `screenshot_delay` integer NOT NULL DEFAULT '0',
    `ntp_stratum_threshold` integer default '5',
    `ntp_time_offset_threshold` integer default '1000',
    `ntp_root_dispersion_threshold` integer default '500',
    `bearer_token` text default null,
    `gamedig_token` text default null,
    FOREIGN KEY (`remote_browser`) REFERENCES `remote_browser` (`id`)
)
"""

TAG = """
CREATE TABLE tag (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(255) NOT NULL,
    color VARCHAR(255) NOT NULL,
    created_date DATETIME DEFAULT (DATETIME('now')) NOT NULL
)
"""

MONITOR_TAG = """
CREATE TABLE monitor_tag (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    monitor_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    value TEXT,
    CONSTRAINT FK_tag FOREIGN KEY (tag_id) REFERENCES tag(id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT FK_monitor FOREIGN KEY (monitor_id) REFERENCES monitor(id)
        ON DELETE CASCADE ON UPDATE CASCADE
)
"""

NOTIFICATION = """
CREATE TABLE [notification] (
    [id] INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    [name] VARCHAR(255),
    [active] BOOLEAN NOT NULL DEFAULT 1,
    [user_id] INTEGER NOT NULL,
    is_default BOOLEAN default 0 NOT NULL,
    config TEXT
)
"""

MONITOR_NOTIFICATION = """
CREATE TABLE [monitor_notification] (
    [id] INTEGER PRIMARY KEY NOT NULL,
    [monitor_id] INTEGER NOT NULL REFERENCES [monitor]([id])
        ON DELETE CASCADE ON UPDATE CASCADE,
    [notification_id] INTEGER NOT NULL REFERENCES [notification]([id])
        ON DELETE CASCADE ON UPDATE CASCADE
)
"""


VERSIONS = {"1.23": MONITOR_1_23, "2": MONITOR_2}


def create(path: Path, version: str) -> sqlite3.Connection:
    """A new Kuma database of ``version`` ("1.23" or "2") at ``path``, without rows."""
    connection = sqlite3.connect(path)
    for statement in (VERSIONS[version], TAG, MONITOR_TAG, NOTIFICATION, MONITOR_NOTIFICATION):
        connection.execute(statement)
    connection.commit()
    return connection
