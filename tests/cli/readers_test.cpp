// The .npy and .csv readers on hand-made files: every header variant, truncation and
// malformed input gives a one-line error naming the file.
#include "readers.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace tally::cli {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tally_readers_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Writes a .npy file: version 1 header padded to 64 bytes, then raw data.
std::string write_npy(const std::string& name, const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  const auto len = static_cast<std::uint32_t>(header.size());
  bytes += static_cast<char>(len & 0xff);
  bytes += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) {
    bytes += static_cast<char>((len >> 16) & 0xff);
    bytes += static_cast<char>((len >> 24) & 0xff);
  }
  bytes += header + data;
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Npy, ReadsCOrderFloat32WithoutCopy) {
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  const auto path = write_npy("c.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", raw(v));
  auto src = open_npy(path);
  EXPECT_EQ(src->rows(), 3);
  EXPECT_EQ(src->row_shape(), (Shape{2}));
  EXPECT_EQ(src->dtype(), DType::kFloat32);
  const TensorView rows = src->read(1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_DOUBLE_EQ(rows.value_at(0), 3.0);
  EXPECT_DOUBLE_EQ(rows.value_at(3), 6.0);
}

TEST(Npy, ReadsFortranOrderAsStridedRows) {
  // Column-major [[1, 4], [2, 5], [3, 6]] stored as 1 2 3 4 5 6.
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  const auto path = write_npy("f.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", raw(v), 2);
  auto src = open_npy(path);
  const TensorView rows = src->read(1, 3);
  EXPECT_DOUBLE_EQ(rows.value_at(0), 2.0);
  EXPECT_DOUBLE_EQ(rows.value_at(1), 5.0);
  EXPECT_DOUBLE_EQ(rows.value_at(3), 6.0);
}

TEST(Npy, SwapsBigEndianData) {
  const std::vector<unsigned char> be{0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  const auto path = write_npy("be.npy", "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }",
                              std::string(be.begin(), be.end()), 3);
  auto src = open_npy(path);
  const TensorView rows = src->read(0, 2);
  EXPECT_DOUBLE_EQ(rows.value_at(0), 7.0);
  EXPECT_DOUBLE_EQ(rows.value_at(1), -2.0);
}

TEST(Npy, ReadsEverySupportedDType) {
  const std::pair<const char*, DType> cases[] = {
      {"|b1", DType::kBool},    {"|u1", DType::kUInt8},   {"<i4", DType::kInt32},  {"<i8", DType::kInt64},
      {"<f2", DType::kFloat16}, {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}};
  for (const auto& [descr, dtype] : cases) {
    const std::string data(dtype_size(dtype) * 2, '\0');
    const auto path =
        write_npy("dt.npy", std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2,), }", data);
    EXPECT_EQ(open_npy(path)->dtype(), dtype) << descr;
  }
}

// Found by fuzz_npy: a file rejected while parsing its header kept its descriptor and map.
TEST(Npy, RejectedFilesReleaseTheirDescriptors) {
  const auto bad =
      write_npy("leak.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  auto open_descriptors = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
  };
  const auto before = open_descriptors();
  for (int i = 0; i < 100; ++i) EXPECT_THROW(open_npy(bad), InputError);
  EXPECT_EQ(open_descriptors(), before);
}

TEST(Npy, RejectsBadFilesWithTheFileName) {
  const auto truncated =
      write_npy("t.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", std::string(12, '\0'));
  EXPECT_NE(error_of([&] { open_npy(truncated); }).find("t.npy: truncated: shape [10] of <f4 needs 40 data bytes"),
            std::string::npos);
  const auto complex =
      write_npy("x.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  EXPECT_NE(error_of([&] { open_npy(complex); }).find("unsupported dtype '<c8'"), std::string::npos);
  const auto structured =
      write_npy("s.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'));
  EXPECT_NE(error_of([&] { open_npy(structured); }).find("structured"), std::string::npos);
  const auto three_d =
      write_npy("3d.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", std::string(4, '\0'));
  EXPECT_NE(error_of([&] { open_npy(three_d); }).find("1-D or 2-D"), std::string::npos);
  const auto garbage = temp_path("g.npy");
  std::ofstream(garbage) << "not an npy file at all";
  EXPECT_NE(error_of([&] { open_npy(garbage); }).find("bad magic"), std::string::npos);
  // Found by fuzz_npy: 6.8e8 rows of zero columns spun the reader; no columns is an error.
  const auto no_columns =
      write_npy("nc.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (681424901, 0), }", std::string());
  EXPECT_NE(error_of([&] { open_npy(no_columns); }).find("needs at least one column"), std::string::npos);
  // Found by fuzz_npy: a bool byte other than 0 or 1 must be an error, not a C++ bool read.
  const auto bad_bool =
      write_npy("bb.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x01\x00\x20", 3));
  EXPECT_NE(error_of([&] { open_npy(bad_bool)->read(0, 3); }).find("bb.npy: bool element 2 (row 2) holds the byte 32"),
            std::string::npos);
  const auto broken =
      write_npy("b.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", std::string(4, '\0'));
  EXPECT_NE(error_of([&] { open_npy(broken); }).find("malformed .npy header"), std::string::npos);
  EXPECT_NE(error_of([&] { open_npy(temp_path("missing.npy")); }).find("cannot open"), std::string::npos);
}

TEST(Csv, SelectsColumnsByNameAndIndexAndStreams) {
  const auto path = temp_path("d.csv");
  std::ofstream(path) << "id,label,\"score, raw\",weight\n1,0,0.25,1\n2,1,0.75,2\n\n3,1,1e-1,0.5\n";
  auto one = open_csv(path, {"label"});
  EXPECT_EQ(one->rows(), 3);
  EXPECT_EQ(one->row_shape(), Shape{});
  EXPECT_DOUBLE_EQ(one->read(0, 3).value_at(2), 1.0);
  auto two = open_csv(path, {"score, raw", "3"});
  EXPECT_EQ(two->row_shape(), (Shape{2}));
  const TensorView last = two->read(2, 3);
  EXPECT_DOUBLE_EQ(last.value_at(0), 0.1);
  EXPECT_DOUBLE_EQ(last.value_at(1), 0.5);
  EXPECT_DOUBLE_EQ(two->read(0, 1).value_at(0), 0.25);  // going back re-reads
}

TEST(Csv, ErrorsNameTheFileLineAndColumn) {
  const auto path = temp_path("bad.csv");
  std::ofstream(path) << "a,b\n1,2\n3,oops\n";
  auto src = open_csv(path, {"b"});
  EXPECT_NE(error_of([&] { src->read(0, 2); }).find("bad.csv: line 3: column 'b': cannot parse 'oops' as a number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { open_csv(path, {"zzz"}); }).find("unknown column 'zzz'; the header has a, b"),
            std::string::npos);
  const auto ragged = temp_path("ragged.csv");
  std::ofstream(ragged) << "a,b\n1,2\n3\n";
  EXPECT_NE(error_of([&] { open_csv(ragged, {}); }).find("line 3: 1 fields, the header has 2"), std::string::npos);
  const auto empty = temp_path("empty.csv");
  std::ofstream(empty) << "";
  EXPECT_NE(error_of([&] { open_csv(empty, {}); }).find("empty file"), std::string::npos);
}

TEST(InputSpec, SplitsColumnsUnlessThePathExists) {
  const InputSpec s = parse_input_spec("data.csv:label,score");
  EXPECT_EQ(s.path, "data.csv");
  EXPECT_EQ(s.columns, (std::vector<std::string>{"label", "score"}));
  EXPECT_TRUE(parse_input_spec("plain.npy").columns.empty());
  EXPECT_THROW(parse_input_spec("data.csv:a,,b"), InputError);
  EXPECT_THROW(open_source(parse_input_spec("file.parquet")), InputError);
}

TEST(Npy, WidensNarrowAndUnsignedIntegers) {
  // numpy writes these; tally has no such DType, so rows are widened on reading.
  const std::vector<std::int8_t> i1{-3, 127};
  const std::vector<std::int16_t> i2{-300, 2};
  const std::vector<std::uint16_t> u2{65535, 1};
  const std::vector<std::uint32_t> u4{4000000000U, 5};
  const std::vector<std::uint64_t> u8{9007199254740993ULL, 0};
  struct Case {
    const char* descr;
    std::string data;
    DType dtype;
    double first;
  };
  const Case cases[] = {{"|i1", raw(i1), DType::kInt32, -3.0},
                        {"<i2", raw(i2), DType::kInt32, -300.0},
                        {"<u2", raw(u2), DType::kInt32, 65535.0},
                        {"<u4", raw(u4), DType::kInt64, 4000000000.0},
                        {"<u8", raw(u8), DType::kInt64, 9007199254740992.0}};
  for (const Case& c : cases) {
    const auto path = write_npy(
        "w.npy", std::string("{'descr': '") + c.descr + "', 'fortran_order': False, 'shape': (2,), }", c.data);
    auto src = open_npy(path);
    EXPECT_EQ(src->dtype(), c.dtype) << c.descr;
    const TensorView v = src->read(0, 2);
    EXPECT_DOUBLE_EQ(v.value_at(0), c.first) << c.descr;
  }
  // uint64 is exact in int64 (2^53 + 1 survives, unlike through a double).
  auto big = open_npy(write_npy("u8.npy", "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", raw(u8)));
  EXPECT_EQ(static_cast<const std::int64_t*>(big->read(0, 1).data())[0], 9007199254740993LL);
  // Big-endian int16, Fortran-order uint16 2-D.
  const std::vector<unsigned char> be{0xff, 0xfe, 0x00, 0x05};
  auto swapped = open_npy(write_npy("be2.npy", "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
                                    std::string(be.begin(), be.end())));
  EXPECT_DOUBLE_EQ(swapped->read(0, 2).value_at(0), -2.0);
  EXPECT_DOUBLE_EQ(swapped->read(0, 2).value_at(1), 5.0);
  const std::vector<std::uint16_t> f{1, 2, 3, 4, 5, 6};  // [[1, 4], [2, 5], [3, 6]]
  auto fortran = open_npy(write_npy("f2.npy", "{'descr': '<u2', 'fortran_order': True, 'shape': (3, 2), }", raw(f)));
  const TensorView rows = fortran->read(1, 3);
  EXPECT_DOUBLE_EQ(rows.value_at(1), 5.0);
  EXPECT_DOUBLE_EQ(rows.value_at(2), 3.0);
  const std::vector<std::uint64_t> too_big{1, 18446744073709551615ULL};
  auto overflow =
      open_npy(write_npy("o.npy", "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", raw(too_big)));
  EXPECT_NE(error_of([&] { overflow->read(0, 2); }).find("uint64 value 18446744073709551615 at row 1 does not fit"),
            std::string::npos);
}

TEST(Files, AFifoIsRefusedBeforeOpening) {
  // open() on a FIFO with no writer blocks forever; the readers must refuse it first.
  const std::string fifo = temp_path("fifo.npy");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { open_source(parse_input_spec(fifo)); }).find("is a FIFO, not a regular file"),
            std::string::npos);
  const std::string csv_fifo = temp_path("fifo.csv");
  std::filesystem::remove(csv_fifo);
  ASSERT_EQ(::mkfifo(csv_fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { open_source(parse_input_spec(csv_fifo)); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(error_of([&] {
              open_source(parse_input_spec(std::filesystem::temp_directory_path().string() + "/x.csv"));
            }).find("cannot open"),
            std::string::npos);
  const std::string dir = temp_path("dir.npy");
  std::filesystem::create_directories(dir);
  EXPECT_NE(error_of([&] { open_npy(dir); }).find("is a directory"), std::string::npos);
  std::filesystem::remove(fifo);
  std::filesystem::remove(csv_fifo);
}

TEST(Csv, ReadsExcelBomSemicolonsAndTabs) {
  const auto bom = temp_path("bom.csv");
  std::ofstream(bom) << "\xEF\xBB\xBFlabel,score\n1,0.5\n0,0.25\n";
  EXPECT_DOUBLE_EQ(open_csv(bom, {"label"})->read(0, 1).value_at(0), 1.0);
  const auto semi = temp_path("semi.csv");
  std::ofstream(semi) << "label;score;\"a;b\"\n1;0.5;3\n0;0.25;4\n";
  auto s = open_csv(semi, {"score", "a;b"});
  EXPECT_DOUBLE_EQ(s->read(1, 2).value_at(0), 0.25);
  EXPECT_DOUBLE_EQ(s->read(1, 2).value_at(1), 4.0);
  const auto tabs = temp_path("tabs.csv");
  std::ofstream(tabs) << "label\tscore\n1\t0.5\n";
  EXPECT_DOUBLE_EQ(open_csv(tabs, {"score"})->read(0, 1).value_at(0), 0.5);
  // An explicit delimiter wins over detection: with ',' the semicolon file has one column.
  OpenOptions comma;
  comma.delimiter = ',';
  EXPECT_NE(
      error_of([&] { open_csv(semi, {"score"}, comma); }).find("unknown column 'score'; the header has label;score"),
      std::string::npos);
}

TEST(Csv, BadCellsAreQuotedShortWithControlCharactersEscaped) {
  const auto path = temp_path("long.csv");
  std::string cell(10000, 'x');
  cell[3] = '\x01';
  {
    std::ofstream out(path, std::ios::binary);
    out << "a,b\n1," << cell << "\n";
    out.write("2,n\0l\n", 6);
  }
  auto src = open_csv(path, {"b"});
  const std::string message = error_of([&] { src->read(0, 1); });
  EXPECT_NE(message.find("cannot parse 'xxx\\x01xxxx"), std::string::npos) << message;
  EXPECT_NE(message.find("... (10000 bytes)' as a number"), std::string::npos) << message;
  EXPECT_LT(message.size(), 200u);
  EXPECT_NE(error_of([&] { src->read(1, 2); }).find("cannot parse 'n\\x00l'"), std::string::npos);
  EXPECT_EQ(quote_for_message(std::string("a\0b\n", 4)), "a\\x00b\\n");
  // A cut never leaves half a UTF-8 character: 'é' is two bytes.
  std::string accents;
  for (int i = 0; i < 60; ++i) accents += "\xC3\xA9";
  const std::string q = quote_for_message(accents);
  EXPECT_EQ(q, std::string(accents.substr(0, 80)) + "... (120 bytes)");
}

}  // namespace
}  // namespace tally::cli
