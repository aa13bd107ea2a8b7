fn main() {
    seatwise_console::run()
}
