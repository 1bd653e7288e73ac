DROP TABLE candles;
